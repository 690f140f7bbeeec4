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
