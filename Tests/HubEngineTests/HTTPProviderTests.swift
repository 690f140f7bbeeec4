import Foundation
import HubCore
@testable import HubEngine
import XCTest

final class HTTPProviderTests: XCTestCase {
    var server: TestHTTPServer!
    var provider: HTTPProvider!
    let category = Category(id: "toys", name: "Toys", expectedProducts: 3, expectedSellersPerProduct: 2)

    override func setUpWithError() throws {
        server = try TestHTTPServer()
        provider = HTTPProvider(config: .init(baseURL: URL(string: "http://127.0.0.1:\(server.port)/v1")!, apiKey: "k3y",
                                              timeout: .seconds(1)))
    }

    override func tearDown() { server.stop() }

    func testListingPagingAndDecoding() throws {
        server.route("/v1/amazon/categories/toys/products?cursor=0", .init(body: #"{"products":[{"asin":"B01"},{"asin":"B02"}],"next_cursor":2}"#))
        server.route("/v1/amazon/categories/toys/products?cursor=2", .init(body: #"{"products":[{"asin":"B03"}],"next_cursor":null}"#))
        server.route("/v1/amazon/products/B01", .init(body: #"{"asin":"B01","title":"Robot","price_cents":1999}"#))
        server.route("/v1/ebay/products/B01/sellers", .init(body: #"{"sellers":[{"platform_id":"s1","display_name":"Toy Chest"}]}"#))
        server.route("/v1/ebay/sellers/s1", .init(body: #"{"platform_id":"s1","display_name":"Toy Chest","feedback_score":512}"#))

        let first = try provider.listProducts(category: category, cursor: 0, limit: 2)
        XCTAssertEqual(first.products.map(\.asin), ["B01", "B02"])
        XCTAssertEqual(first.next, 2)
        let second = try provider.listProducts(category: category, cursor: 2, limit: 2)
        XCTAssertEqual(second.products.map(\.asin), ["B03"])
        XCTAssertNil(second.next)
        XCTAssertEqual(try provider.fetchProduct(ProductRef(asin: "B01", categoryID: "toys")), Product(asin: "B01", title: "Robot", priceCents: 1999))
        let sellers = try provider.discoverSellers(for: ProductRef(asin: "B01", categoryID: "toys"), category: category)
        XCTAssertEqual(sellers, [SellerRef(platformID: "s1", displayName: "Toy Chest")])
        XCTAssertEqual(try provider.fetchSeller(sellers[0]).feedbackScore, 512)
        XCTAssertTrue(server.requestHeads.allSatisfy { $0.lowercased().contains("authorization: bearer k3y") })
    }

    func testStatusCodesMapToItemOrUnavailable() {
        server.route("/v1/amazon/products/GONE", .init(status: 404))
        server.route("/v1/amazon/products/LIMIT", .init(status: 429, headers: ["Retry-After: 3"]))
        server.route("/v1/amazon/products/DOWN", .init(status: 503))
        server.route("/v1/amazon/products/KEY", .init(status: 401))
        server.route("/v1/amazon/products/JUNK", .init(body: "<html>oops</html>"))
        server.route("/v1/amazon/products/SLOW", .init(hang: true))
        func outcome(_ asin: String) -> ProviderError? {
            do { _ = try provider.fetchProduct(ProductRef(asin: asin, categoryID: "toys")); return nil } catch { return error }
        }
        XCTAssertEqual(outcome("GONE"), .item(code: "not_found", message: "the provider does not know this item"))
        XCTAssertEqual(outcome("LIMIT"), .unavailable(retryAfter: .seconds(3), reason: "HTTP 429 rate limited"))
        guard case .unavailable(nil, _)? = outcome("DOWN") else { return XCTFail("503 must pause") }
        guard case .unavailable(nil, _)? = outcome("KEY") else { return XCTFail("401 must pause, not fail items") }
        guard case .item("bad_response", _)? = outcome("JUNK") else { return XCTFail("garbage is an item error") }
        let started = Date()
        guard case .unavailable? = outcome("SLOW") else { return XCTFail("a silent provider is unavailable") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 3, "the timeout was not applied")
    }

    func testRefusedConnectionIsUnavailable() {
        server.stop()
        XCTAssertThrowsError(try provider.fetchProduct(ProductRef(asin: "B01", categoryID: "toys"))) {
            guard case .unavailable? = $0 as? ProviderError else { return XCTFail("\($0)") }
        }
    }

    func testIdsArePercentEncoded() throws {
        server.route("/v1/ebay/sellers/", .init(body: #"{"display_name":"X"}"#))
        _ = try provider.fetchSeller(SellerRef(platformID: "a/b c?d", displayName: "X"))
        XCTAssertEqual(server.requestLines.last, "GET /v1/ebay/sellers/a%2Fb%20c%3Fd HTTP/1.1")
    }
}
