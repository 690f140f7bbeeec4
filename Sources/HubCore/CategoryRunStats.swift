/// What one run observed in one category: the executor counts it as it goes and commits
/// it with the items; completed runs' figures are what estimates learn from.
public struct CategoryRunStats: Sendable, Codable, Equatable {
    /// Products the category's listing returned (known once the executor listed it).
    public var listed: Int = 0
    /// Paid product calls made (product items: completed or failed).
    public var productsFetched: Int = 0
    public var productsFailed: Int = 0
    /// Sellers offered by the fetched products, repeats included: the draws from the pool.
    public var sellersDiscovered: Int = 0
    /// Distinct sellers among those draws (within this category).
    public var sellersDistinct: Int = 0
    /// Paid seller calls: sellers not seen earlier in the run (seller items).
    public var sellersPaid: Int = 0
    public var sellersFailed: Int = 0
    public var costCents: Int = 0
    /// The executor went through the whole listing.
    public var complete: Bool = false
    /// The executor resumed inside this category, so `sellersDistinct` may miss repeats
    /// seen before the restart: its pool size is not learned from.
    public var resumed: Bool = false

    public init() {}

    /// Items the category produced: one per paid call.
    public var items: Int { productsFetched + sellersPaid }

    enum CodingKeys: String, CodingKey {
        case listed, complete, resumed
        case productsFetched = "products_fetched"
        case productsFailed = "products_failed"
        case sellersDiscovered = "sellers_discovered"
        case sellersDistinct = "sellers_distinct"
        case sellersPaid = "sellers_paid"
        case sellersFailed = "sellers_failed"
        case costCents = "cost_cents"
    }
}
