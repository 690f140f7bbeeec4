/// One category's share of an estimate.
public struct CategoryEstimate: Sendable, Codable, Equatable {
    public let categoryId: String
    public let name: String
    public let amazonCalls: Int
    public let amazonCents: Int
    public let ebayCalls: Int
    public let ebayCents: Int
    public let totalCents: Int

    /// "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00" (seed 002's wording);
    /// the "~" because sellers per product is an average.
    public var summary: String {
        "\(amazonCalls) Amazon calls (\(Cents.format(amazonCents))) + ~\(ebayCalls) eBay calls (\(Cents.format(ebayCents))) = \(Cents.format(totalCents))"
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

    // Hand-written so `summary` is encoded for the UI but derived, never trusted, on decode.
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
