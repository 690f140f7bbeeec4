/// Where a run stands, committed with the items it covers so a resume neither repeats nor
/// skips: the category being worked on, the product in it, and, once that product is
/// fetched, the next of its sellers.
public struct RunCheckpoint: Sendable, Codable, Equatable {
    public var version: Int = 1
    public var categoryIndex: Int
    public var productOffset: Int
    /// nil: the product at productOffset is not fetched yet; n: its sellers from n on remain.
    public var sellerOffset: Int?
    public var lastSeq: Int64
    public var budgetWarned: Bool

    public init(categoryIndex: Int = 0, productOffset: Int = 0, lastSeq: Int64 = 0, budgetWarned: Bool = false) {
        self.categoryIndex = categoryIndex
        self.productOffset = productOffset
        self.lastSeq = lastSeq
        self.budgetWarned = budgetWarned
    }

    enum CodingKeys: String, CodingKey {
        case version
        case categoryIndex = "category_index"
        case productOffset = "product_offset"
        case sellerOffset = "seller_offset"
        case lastSeq = "last_seq"
        case budgetWarned = "budget_warned"
    }
}
