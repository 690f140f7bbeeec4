/// A category's figures learned from the org's completed runs: how many products its
/// listing holds, how often calls fail, how many sellers a product offers and how large
/// the pool they come from is.
public struct CategoryHistory: Sendable, Equatable {
    public let categoryID: String
    /// Completed runs that went through the whole category.
    public let runs: Int
    public let listedProducts: Double
    /// Failed product calls per paid product call.
    public let productFailureRate: Double
    /// Failed seller calls per paid seller call.
    public let sellerFailureRate: Double
    /// Sellers offered per successfully fetched product, repeats included.
    public let sellersPerProduct: Double
    /// Paid seller calls per product after deduplication, as observed (for people).
    public let paidSellersPerProduct: Double
    /// The category's seller pool (nil: no seller ever repeated, so no bound is known).
    public let poolSize: Double?

    /// Learns from the category's samples; nil when none covered the whole category.
    public init?(categoryID: String, samples: [CategoryRunStats]) {
        let full = samples.filter(\.complete)
        guard !full.isEmpty else { return nil }
        self.categoryID = categoryID
        runs = full.count
        let fetched = full.reduce(0) { $0 + $1.productsFetched }
        let failed = full.reduce(0) { $0 + $1.productsFailed }
        let paid = full.reduce(0) { $0 + $1.sellersPaid }
        listedProducts = Double(full.reduce(0) { $0 + $1.listed }) / Double(full.count)
        productFailureRate = fetched > 0 ? Double(failed) / Double(fetched) : 0
        sellerFailureRate = paid > 0 ? Double(full.reduce(0) { $0 + $1.sellersFailed }) / Double(paid) : 0
        sellersPerProduct = fetched > failed ? Double(full.reduce(0) { $0 + $1.sellersDiscovered }) / Double(fetched - failed) : 0
        paidSellersPerProduct = fetched > 0 ? Double(paid) / Double(fetched) : 0
        // Pool sizes are averaged per run: the occupancy curve is not linear, so summing
        // draws of different runs first would overstate repeats.
        let sizes = full.filter { !$0.resumed }.compactMap { SellerPool.poolSize(draws: $0.sellersDiscovered, distinct: $0.sellersDistinct) }
        poolSize = sizes.isEmpty ? nil : sizes.reduce(0, +) / Double(sizes.count)
    }
}

/// Everything an estimate learns from one org's history.
public struct EstimateHistory: Sendable, Equatable {
    /// Learned figures by category id (categories without history are absent).
    public var categories: [String: CategoryHistory]
    /// Distinct sellers the org's completed runs paid for, across categories: the pool
    /// that category pools are taken to be drawn from when judging their overlap.
    public var orgSellers: Int

    public init(categories: [String: CategoryHistory] = [:], orgSellers: Int = 0) {
        self.categories = categories
        self.orgSellers = orgSellers
    }

    public static let none = EstimateHistory()

    /// Groups per-run samples by category and learns each.
    public init(samples: [(categoryID: String, stats: CategoryRunStats)], orgSellers: Int) {
        var grouped: [String: [CategoryRunStats]] = [:]
        for s in samples { grouped[s.categoryID, default: []].append(s.stats) }
        self.init(categories: [:], orgSellers: orgSellers)
        for (id, stats) in grouped { categories[id] = CategoryHistory(categoryID: id, samples: stats) }
    }
}
