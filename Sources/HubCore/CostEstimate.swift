/// A catalog category with the counts the estimate is built from.
public struct Category: Sendable, Codable, Equatable {
    public let id: String
    public let name: String
    public let expectedProducts: Int
    public let expectedSellersPerProduct: Int

    public init(id: String, name: String, expectedProducts: Int, expectedSellersPerProduct: Int) {
        self.id = id
        self.name = name
        self.expectedProducts = expectedProducts
        self.expectedSellersPerProduct = expectedSellersPerProduct
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case expectedProducts = "expected_products"
        case expectedSellersPerProduct = "expected_sellers_per_product"
    }
}

/// Price of one paid call per provider, in cents.
public struct UnitCosts: Sendable, Codable, Equatable {
    public var amazonProductCallCents: Int
    public var ebaySellerCallCents: Int

    public init(amazonProductCallCents: Int = 2, ebaySellerCallCents: Int = 1) {
        self.amazonProductCallCents = amazonProductCallCents
        self.ebaySellerCallCents = ebaySellerCallCents
    }

    enum CodingKeys: String, CodingKey {
        case amazonProductCallCents = "amazon_product_call_cents"
        case ebaySellerCallCents = "ebay_seller_call_cents"
    }
}

/// One category's share of an estimate.
public struct CategoryEstimate: Sendable, Codable, Equatable {
    public let categoryId: String
    public let name: String
    public let amazonCalls: Int
    public let amazonCents: Int
    public let ebayCalls: Int
    public let ebayCents: Int
    public let totalCents: Int

    /// "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00" (seed 002's wording).
    public var summary: String {
        "\(amazonCalls) Amazon calls (\(Cents.format(amazonCents))) + ~\(ebayCalls) eBay calls (\(Cents.format(ebayCents))) = \(Cents.format(totalCents))"
    }

    enum CodingKeys: String, CodingKey {
        case categoryId = "category_id"
        case name
        case amazonCalls = "amazon_calls"
        case amazonCents = "amazon_cents"
        case ebayCalls = "ebay_calls"
        case ebayCents = "ebay_cents"
        case totalCents = "total_cents"
        case summary
    }

    public init(categoryId: String, name: String, amazonCalls: Int, amazonCents: Int,
                ebayCalls: Int, ebayCents: Int, totalCents: Int) {
        self.categoryId = categoryId
        self.name = name
        self.amazonCalls = amazonCalls
        self.amazonCents = amazonCents
        self.ebayCalls = ebayCalls
        self.ebayCents = ebayCents
        self.totalCents = totalCents
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(categoryId: try c.decode(String.self, forKey: .categoryId), name: try c.decode(String.self, forKey: .name),
                  amazonCalls: try c.decode(Int.self, forKey: .amazonCalls), amazonCents: try c.decode(Int.self, forKey: .amazonCents),
                  ebayCalls: try c.decode(Int.self, forKey: .ebayCalls), ebayCents: try c.decode(Int.self, forKey: .ebayCents),
                  totalCents: try c.decode(Int.self, forKey: .totalCents))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(categoryId, forKey: .categoryId)
        try c.encode(name, forKey: .name)
        try c.encode(amazonCalls, forKey: .amazonCalls)
        try c.encode(amazonCents, forKey: .amazonCents)
        try c.encode(ebayCalls, forKey: .ebayCalls)
        try c.encode(ebayCents, forKey: .ebayCents)
        try c.encode(totalCents, forKey: .totalCents)
        try c.encode(summary, forKey: .summary)
    }
}

/// The expected cost of a run before it starts.
public struct CostEstimate: Sendable, Codable, Equatable {
    public let categories: [CategoryEstimate]
    public let totalCents: Int
    public let expectedProducts: Int
    public let expectedSellers: Int
    public var expectedItems: Int { expectedProducts + expectedSellers }

    enum CodingKeys: String, CodingKey {
        case categories
        case totalCents = "total_cents"
        case expectedProducts = "expected_products"
        case expectedSellers = "expected_sellers"
    }
}

/// Builds estimates: one Amazon call per product, one eBay call per seller found.
public enum CostEstimator {
    public static func estimate(categories: [Category], unitCosts: UnitCosts) -> CostEstimate {
        let rows = categories.map { c -> CategoryEstimate in
            let amazonCalls = c.expectedProducts
            let ebayCalls = c.expectedProducts * c.expectedSellersPerProduct
            let amazonCents = amazonCalls * unitCosts.amazonProductCallCents
            let ebayCents = ebayCalls * unitCosts.ebaySellerCallCents
            return CategoryEstimate(categoryId: c.id, name: c.name, amazonCalls: amazonCalls, amazonCents: amazonCents,
                                    ebayCalls: ebayCalls, ebayCents: ebayCents, totalCents: amazonCents + ebayCents)
        }
        return CostEstimate(categories: rows, totalCents: rows.reduce(0) { $0 + $1.totalCents },
                            expectedProducts: rows.reduce(0) { $0 + $1.amazonCalls },
                            expectedSellers: rows.reduce(0) { $0 + $1.ebayCalls })
    }
}
