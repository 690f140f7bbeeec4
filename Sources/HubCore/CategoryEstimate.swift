/// One category's share of an estimate.
public struct CategoryEstimate: Sendable, Codable, Equatable {
    public let categoryId: String
    public let name: String
    public let amazonCalls: Int
    public let amazonCents: Int
    public let ebayCalls: Int
    public let ebayCents: Int
    public let totalCents: Int
    /// Completed runs the figures were learned from; 0: the catalog's figures.
    public let basedOnRuns: Int

    /// "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00" (seed 002's wording);
    /// the "~" because sellers per product is an average.
    public var summary: String {
        "\(amazonCalls) Amazon calls (\(Cents.format(amazonCents))) + ~\(ebayCalls) eBay calls (\(Cents.format(ebayCents))) = \(Cents.format(totalCents))"
    }

    /// Where the figures come from, for people: "from 3 earlier runs" or "catalog figure".
    public var basisText: String {
        switch basedOnRuns {
        case 0: return "catalog figure"
        case 1: return "from 1 earlier run"
        default: return "from \(basedOnRuns) earlier runs"
        }
    }

    /// Products plus paid sellers: the items this category is expected to add.
    public var items: Int { amazonCalls + ebayCalls }

    public init(categoryId: String, name: String, amazonCalls: Int, amazonCents: Int,
                ebayCalls: Int, ebayCents: Int, totalCents: Int, basedOnRuns: Int = 0) {
        self.categoryId = categoryId
        self.name = name
        self.amazonCalls = amazonCalls
        self.amazonCents = amazonCents
        self.ebayCalls = ebayCalls
        self.ebayCents = ebayCents
        self.totalCents = totalCents
        self.basedOnRuns = basedOnRuns
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
        case basis
        case basedOnRuns = "based_on_runs"
        case basisText = "basis_text"
    }

    // Hand-written so `summary` and `basis_text` are encoded for the UI but derived, never
    // trusted, on decode (and estimates stored before `based_on_runs` read as catalog ones).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(categoryId: try c.decode(String.self, forKey: .categoryId), name: try c.decode(String.self, forKey: .name),
                  amazonCalls: try c.decode(Int.self, forKey: .amazonCalls), amazonCents: try c.decode(Int.self, forKey: .amazonCents),
                  ebayCalls: try c.decode(Int.self, forKey: .ebayCalls), ebayCents: try c.decode(Int.self, forKey: .ebayCents),
                  totalCents: try c.decode(Int.self, forKey: .totalCents),
                  basedOnRuns: try c.decodeIfPresent(Int.self, forKey: .basedOnRuns) ?? 0)
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
        try c.encode(basedOnRuns > 0 ? "history" : "catalog", forKey: .basis)
        try c.encode(basedOnRuns, forKey: .basedOnRuns)
        try c.encode(basisText, forKey: .basisText)
    }
}
