/// The expected cost of a run before it starts, per category and in total.
public struct CostEstimate: Sendable, Codable, Equatable {
    public let categories: [CategoryEstimate]
    public let totalCents: Int
    public let expectedProducts: Int
    public let expectedSellers: Int
    /// Products plus sellers: the run's `total_items`.
    public var expectedItems: Int { expectedProducts + expectedSellers }

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
    }
}
