/// What an item is: a product from Amazon or a seller found on eBay.
public enum ItemType: String, Sendable, Codable, CaseIterable {
    case amazonProduct = "amazon_product"
    case ebaySeller = "ebay_seller"
}
