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
