/// The expected cost of a run before it starts, per category and in total.
public struct CostEstimate: Sendable, Codable, Equatable {
    public let categories: [CategoryEstimate]
    public let totalCents: Int
    public let expectedProducts: Int
    public let expectedSellers: Int
    /// Products plus sellers: the run's `total_items`.
    public var expectedItems: Int { expectedProducts + expectedSellers }

    /// Where the figures come from, for people: "from earlier runs", "catalog figures", or
    /// "from earlier runs for 2 of 3 categories, catalog figures for the rest".
    public var basisText: String {
        let learned = categories.filter { $0.basedOnRuns > 0 }.count
        if learned == 0 { return "catalog figures" }
        if learned == categories.count {
            let most = categories.map(\.basedOnRuns).max() ?? 0
            return most == 1 ? "from 1 earlier run" : "from up to \(most) earlier runs"
        }
        return "from earlier runs for \(learned) of \(categories.count) categories, catalog figures for the rest"
    }

    public init(categories: [CategoryEstimate], totalCents: Int, expectedProducts: Int, expectedSellers: Int) {
        self.categories = categories
        self.totalCents = totalCents
        self.expectedProducts = expectedProducts
        self.expectedSellers = expectedSellers
    }

    enum CodingKeys: String, CodingKey {
        case categories
        case totalCents = "total_cents"
        case expectedProducts = "expected_products"
        case expectedSellers = "expected_sellers"
        case expectedItems = "expected_items"
        case basisText = "basis_text"
    }

    // Hand-written so `expected_items` is encoded for readers but derived on decode (stored
    // estimates written before it existed still decode).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(categories: try c.decode([CategoryEstimate].self, forKey: .categories),
                  totalCents: try c.decode(Int.self, forKey: .totalCents),
                  expectedProducts: try c.decode(Int.self, forKey: .expectedProducts),
                  expectedSellers: try c.decode(Int.self, forKey: .expectedSellers))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(categories, forKey: .categories)
        try c.encode(totalCents, forKey: .totalCents)
        try c.encode(expectedProducts, forKey: .expectedProducts)
        try c.encode(expectedSellers, forKey: .expectedSellers)
        try c.encode(expectedItems, forKey: .expectedItems)
        try c.encode(basisText, forKey: .basisText)
    }
}
