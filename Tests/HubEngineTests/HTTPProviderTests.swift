import Foundation
import HubCore
@testable import HubEngine
import XCTest

/// HTTPProvider against a loopback server (TestHTTPServer): the contract, the status policy,
/// timeouts, size cap and percent-encoding of docs/PROVIDERS.md.
final class HTTPProviderTests: XCTestCase {
    var server: TestHTTPServer!
    let toys = Category(id: "toys", name: "Toys", expectedProducts: 3, expectedSellersPerProduct: 2)

    override func setUpWithError() throws { server = try TestHTTPServer() }
    override func tearDown() { server?.stop() }

    func provider(key: String? = "k3y", timeout: Duration = .seconds(2), base: String = "/v1") -> HTTPProvider {
        HTTPProvider(config: .init(baseURL: URL(string: "http://127.0.0.1:\(server.port)\(base)")!, apiKey: key, timeout: timeout))
    }

    /// The error `call` throws, nil when it succeeds.
    func outcome<T>(_ call: () throws(ProviderError) -> T) -> ProviderError? {
        do { _ = try call(); return nil } catch { return error }
    }

    func product(_ asin: String, _ p: HTTPProvider) -> ProviderError? { outcome { () throws(ProviderError) in try p.fetchProduct(ProductRef(asin: asin, categoryID: "toys")) } }

    func code(_ e: ProviderError?) -> String? { if case .item(let c, _)? = e { return c }; return nil }
    func isUnavailable(_ e: ProviderError?) -> Bool { if case .unavailable? = e { return true }; return false }

    // MARK: The contract

    func testListingPagesWithCursorAndLimit() throws {
        server.route("/v1/amazon/categories/toys/products?cursor=0&limit=2", .init(body: #"{"products":[{"asin":"B01"},{"asin":"B02"}],"next_cursor":2}"#))
        server.route("/v1/amazon/categories/toys/products?cursor=2&limit=2", .init(body: #"{"products":[{"asin":"B03"}],"next_cursor":null}"#))
        let p = provider()
        let first = try p.listProducts(category: toys, cursor: 0, limit: 2)
        XCTAssertEqual(first.products, [ProductRef(asin: "B01", categoryID: "toys"), ProductRef(asin: "B02", categoryID: "toys")])
        XCTAssertEqual(first.next, 2)
        let second = try p.listProducts(category: toys, cursor: 2, limit: 2)
        XCTAssertEqual(second.products.map(\.asin), ["B03"])
        XCTAssertNil(second.next)
        XCTAssertEqual(server.requests.map(\.target), ["/v1/amazon/categories/toys/products?cursor=0&limit=2",
                                                        "/v1/amazon/categories/toys/products?cursor=2&limit=2"])
        XCTAssertEqual(server.requests.map(\.method), ["GET", "GET"])
        // A missing next_cursor is the end too.
        server.route("/v1/amazon/categories/toys/products?cursor=3&limit=2", .init(body: #"{"products":[]}"#))
        XCTAssertNil(try p.listProducts(category: toys, cursor: 3, limit: 2).next)
    }

    func testProductAndSellerDecoding() throws {
        server.route("/v1/amazon/products/B01", .init(body: #"{"asin":"B01","title":"Robot \u00e9","price_cents":1999,"extra":[1]}"#))
        server.route("/v1/ebay/products/B01/sellers", .init(body: #"{"sellers":[{"platform_id":"s1","display_name":"Toy Chest"},{"platform_id":"s2","display_name":"ＢＯＯＫ"}]}"#))
        server.route("/v1/ebay/sellers/s1", .init(body: #"{"platform_id":"s1","display_name":"Toy Chest","feedback_score":512}"#))
        server.route("/v1/ebay/sellers/s2", .init(body: #"{"display_name":"ＢＯＯＫ","feedback_score":null}"#))
        let p = provider()
        let ref = ProductRef(asin: "B01", categoryID: "toys")
        XCTAssertEqual(try p.fetchProduct(ref), Product(asin: "B01", title: "Robot é", priceCents: 1999))
        let sellers = try p.discoverSellers(for: ref, category: toys)
        XCTAssertEqual(sellers, [SellerRef(platformID: "s1", displayName: "Toy Chest"), SellerRef(platformID: "s2", displayName: "ＢＯＯＫ")])
        XCTAssertEqual(try p.fetchSeller(sellers[0]), SellerProfile(platformID: "s1", displayName: "Toy Chest", feedbackScore: 512))
        XCTAssertEqual(try p.fetchSeller(sellers[1]), SellerProfile(platformID: "s2", displayName: "ＢＯＯＫ", feedbackScore: nil))
    }

    func testBearerHeaderSentOnlyWithAKey() throws {
        server.route("/v1/amazon/products/B01", .init(body: #"{"title":"T","price_cents":1}"#))
        server.route("/api/amazon/products/B01", .init(body: #"{"title":"T","price_cents":1}"#))
        _ = try provider(key: "k3y").fetchProduct(ProductRef(asin: "B01", categoryID: "toys"))
        _ = try provider(key: nil, base: "/api/").fetchProduct(ProductRef(asin: "B01", categoryID: "toys"))
        let requests = server.requests
        XCTAssertEqual(requests.count, 2)
        XCTAssertEqual(requests[0].headers["authorization"], "Bearer k3y")
        XCTAssertEqual(requests[0].headers["accept"], "application/json")
        XCTAssertNil(requests[1].headers["authorization"])
        XCTAssertEqual(requests[1].target, "/api/amazon/products/B01", "a trailing slash on the base URL is not doubled")
    }

    // MARK: Status policy

    func testItemErrorsForMissingGoneAndInvalid() {
        server.route("/v1/amazon/products/MISSING", .init(status: 404, body: #"{"error":"no such asin"}"#))
        server.route("/v1/amazon/products/GONE", .init(status: 410))
        server.route("/v1/amazon/products/BAD", .init(status: 422, body: "not json"))
        let p = provider()
        XCTAssertEqual(product("MISSING", p), .item(code: "not_found", message: "HTTP 404 for GET /amazon/products/MISSING: no such asin"))
        XCTAssertEqual(code(product("GONE", p)), "gone")
        XCTAssertEqual(product("BAD", p), .item(code: "invalid", message: "HTTP 422 for GET /amazon/products/BAD"))
    }

    func testRateLimitHonoursRetryAfter() {
        server.route("/v1/amazon/products/LIMIT", .init(status: 429, headers: ["Retry-After: 3"]))
        server.route("/v1/amazon/products/LIMIT2", .init(status: 429))
        let p = provider()
        guard case .unavailable(let after, let reason)? = product("LIMIT", p) else { return XCTFail("429 must pause") }
        XCTAssertEqual(after, .seconds(3))
        XCTAssertTrue(reason.contains("429"), reason)
        guard case .unavailable(nil, _)? = product("LIMIT2", p) else { return XCTFail("429 without Retry-After: the engine's backoff") }
    }

    func testRetryAfterParsing() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)  // Tue, 14 Nov 2023 22:13:20 GMT
        XCTAssertEqual(HTTPProvider.parseRetryAfter(" 0 ", now: now), .zero)
        XCTAssertEqual(HTTPProvider.parseRetryAfter("120", now: now), .seconds(120))
        XCTAssertEqual(HTTPProvider.parseRetryAfter("Tue, 14 Nov 2023 22:13:50 GMT", now: now), .seconds(30))
        XCTAssertEqual(HTTPProvider.parseRetryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now: now), .zero, "a past date: retry now")
        XCTAssertNil(HTTPProvider.parseRetryAfter("-5", now: now))
        XCTAssertNil(HTTPProvider.parseRetryAfter("soon", now: now))
        XCTAssertNil(HTTPProvider.parseRetryAfter("", now: now))
        XCTAssertEqual(HTTPProvider.parseRetryAfter("99999999999999999999", now: now), .seconds(999_999_999), "clamped, not trapped")
    }

    func testServerErrorsAndMisconfigurationPause() {
        for status in [500, 502, 503, 400, 401, 403, 405, 302] {
            server.route("/v1/amazon/products/S\(status)", .init(status: status, headers: status == 302 ? ["Location: /v1/amazon/products/OK"] : []))
        }
        server.route("/v1/amazon/products/OK", .init(body: #"{"title":"T","price_cents":1}"#))
        let p = provider()
        for status in [500, 502, 503, 400, 401, 403, 405, 302] {
            guard case .unavailable(nil, let reason)? = product("S\(status)", p) else { XCTFail("HTTP \(status) must pause the run"); continue }
            XCTAssertTrue(reason.contains("HTTP \(status)"), reason)
        }
        XCTAssertFalse(server.requests.contains { $0.path.hasSuffix("/OK") }, "a redirect was followed")
    }

    // MARK: Transport failures

    func testSilentServerTimesOut() {
        server.route("/v1/amazon/products/SLOW", .init(hang: true))
        let p = provider(timeout: .milliseconds(500))
        let error = product("SLOW", p)
        // The server never answers: the call returns at all only through the deadline, and
        // the reason names it (a wait without one would hang here).
        guard case .unavailable(nil, let reason)? = error else { return XCTFail("a silent provider is unavailable: \(String(describing: error))") }
        XCTAssertTrue(reason.contains("no answer") && reason.contains("within 0.5 s"), reason)
    }

    func testResetAndRefusedConnectionsAreUnavailable() {
        server.route("/v1/amazon/products/RESET", .init(reset: true))
        let p = provider()
        XCTAssertTrue(isUnavailable(product("RESET", p)))
        XCTAssertEqual(server.requests.count, 1)
        server.stop()
        // With a deadline far beyond the test's, a refusal must be reported as such, not as
        // the deadline passing.
        let patient = provider(timeout: .seconds(120))
        guard case .unavailable(nil, let reason)? = product("B01", patient) else { return XCTFail("a refused connection is unavailable") }
        XCTAssertFalse(reason.contains("no answer"), "a refused connection waited for the timeout: \(reason)")
    }

    // MARK: Bad answers

    func testUndecodableAnswersAreBadResponses() {
        let bodies: [(String, String)] = [
            ("JUNK", "<html>oops</html>"),
            ("EMPTY", ""),
            ("ARRAY", #"[{"title":"T","price_cents":1}]"#),
            ("NOTITLE", #"{"price_cents":1}"#),
            ("STRPRICE", #"{"title":"T","price_cents":"12"}"#),
            ("NEGPRICE", #"{"title":"T","price_cents":-1}"#),
            ("OTHER", #"{"asin":"B99","title":"T","price_cents":1}"#),
        ]
        for (asin, body) in bodies { server.route("/v1/amazon/products/\(asin)", .init(body: body)) }
        let p = provider()
        for (asin, body) in bodies { XCTAssertEqual(code(product(asin, p)), "bad_response", "\(asin): \(body)") }
        XCTAssertEqual(product("NOTITLE", p), .item(code: "bad_response", message: "product NOTITLE: \"title\" is missing"))

        server.route("/v1/amazon/categories/toys/products", .init(body: #"{"products":[{"asin":"B1"}],"next_cursor":0}"#))
        XCTAssertEqual(code(outcome { () throws(ProviderError) in try p.listProducts(category: toys, cursor: 0, limit: 5) }), "bad_response",
                       "a cursor that does not advance")
        server.route("/v1/ebay/products/B1/sellers", .init(body: #"{"sellers":[{"display_name":"No Id"}]}"#))
        XCTAssertEqual(code(outcome { () throws(ProviderError) in try p.discoverSellers(for: ProductRef(asin: "B1", categoryID: "toys"), category: toys) }),
                       "bad_response")
        server.route("/v1/ebay/sellers/s1", .init(body: #"{"platform_id":"s1","display_name":"X","feedback_score":"high"}"#))
        XCTAssertEqual(code(outcome { () throws(ProviderError) in try p.fetchSeller(SellerRef(platformID: "s1", displayName: "X")) }), "bad_response")
    }

    func testAnswersOverOneMegabyteAreRefused() throws {
        let big = Data(#"{"title":"\#(String(repeating: "x", count: 2 << 20))","price_cents":1}"#.utf8)
        server.route("/v1/amazon/products/BIG", .init(bytes: big))
        server.route("/v1/amazon/products/STREAM", .init(bytes: big, omitLength: true))
        let fits = Data(#"{"title":"\#(String(repeating: "x", count: (1 << 20) - 64))","price_cents":1}"#.utf8)
        XCTAssertLessThanOrEqual(fits.count, 1 << 20)
        server.route("/v1/amazon/products/FITS", .init(bytes: fits, omitLength: true))
        let p = provider()
        XCTAssertEqual(product("BIG", p), .item(code: "bad_response", message: "GET /amazon/products/BIG: answer over 1048576 bytes"))
        XCTAssertEqual(code(product("STREAM", p)), "bad_response", "a body without Content-Length is capped while read")
        XCTAssertEqual(try p.fetchProduct(ProductRef(asin: "FITS", categoryID: "toys")).title.count, (1 << 20) - 64)
        // Over the cap on an error status: the status decides.
        server.route("/v1/amazon/products/BIG404", .init(status: 404, bytes: big))
        XCTAssertEqual(code(product("BIG404", p)), "not_found")
    }

    func testConcurrentCallsEachGetTheirOwnAnswer() {
        for i in 0..<16 { server.route("/v1/amazon/products/C\(i)", .init(body: #"{"title":"T\#(i)","price_cents":\#(i)}"#)) }
        let p = provider()
        final class Titles: @unchecked Sendable {
            let lock = NSLock()
            var byIndex: [Int: String] = [:]
        }
        let titles = Titles()
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let title = (try? p.fetchProduct(ProductRef(asin: "C\(i)", categoryID: "toys")))?.title
            titles.lock.withLock { titles.byIndex[i] = title }
        }
        XCTAssertEqual(titles.byIndex, Dictionary(uniqueKeysWithValues: (0..<16).map { ($0, "T\($0)") }))
    }

    // MARK: Untrusted ids

    func testIdsArePercentEncoded() throws {
        server.route("/v1/ebay/sellers/a%2Fb%20c%3Fd%23e%25f", .init(body: #"{"display_name":"X"}"#))
        server.route("/v1/amazon/products/%2E%2E", .init(body: #"{"title":"dots","price_cents":1}"#))
        server.route("/v1/amazon/products/caf%C3%A9%2B1", .init(body: #"{"title":"cafe","price_cents":1}"#))
        server.route("/v1/amazon/categories/home%20%26%20garden/products?cursor=0&limit=5", .init(body: #"{"products":[]}"#))
        let p = provider()
        XCTAssertEqual(try p.fetchSeller(SellerRef(platformID: "a/b c?d#e%f", displayName: "X")).platformID, "a/b c?d#e%f")
        XCTAssertEqual(try p.fetchProduct(ProductRef(asin: "..", categoryID: "toys")).title, "dots")
        XCTAssertEqual(try p.fetchProduct(ProductRef(asin: "café+1", categoryID: "toys")).title, "cafe")
        _ = try p.listProducts(category: Category(id: "home & garden", name: "H", expectedProducts: 0, expectedSellersPerProduct: 0), cursor: 0, limit: 5)
        XCTAssertEqual(server.requests.map(\.target), [
            "/v1/ebay/sellers/a%2Fb%20c%3Fd%23e%25f",
            "/v1/amazon/products/%2E%2E",
            "/v1/amazon/products/caf%C3%A9%2B1",
            "/v1/amazon/categories/home%20%26%20garden/products?cursor=0&limit=5",
        ])
        // An empty id would name another endpoint: refused without a request.
        XCTAssertEqual(code(product("", p)), "invalid")
        XCTAssertEqual(server.requests.count, 4)
    }
}
