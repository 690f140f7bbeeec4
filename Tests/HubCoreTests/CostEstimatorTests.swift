import Foundation
import HubCore
import XCTest

final class CostEstimatorTests: XCTestCase {
    let toys = Category(id: "toys", name: "Toys", expectedProducts: 50, expectedSellersPerProduct: 4)
    let books = Category(id: "books", name: "Books", expectedProducts: 30, expectedSellersPerProduct: 2)
    let costs = UnitCosts(amazonProductCallCents: 2, ebaySellerCallCents: 1)

    func testFiguresAndSummary() {
        let e = CostEstimator.estimate(categories: [toys, books], unitCosts: costs)
        XCTAssertEqual(e.categories.count, 2)
        let t = e.categories[0]
        XCTAssertEqual([t.amazonCalls, t.amazonCents, t.ebayCalls, t.ebayCents, t.totalCents], [50, 100, 200, 200, 300])
        XCTAssertEqual(t.summary, "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00")
        XCTAssertEqual(e.categories[1].summary, "30 Amazon calls ($0.60) + ~60 eBay calls ($0.60) = $1.20")
        XCTAssertEqual(e.totalCents, 420)
        XCTAssertEqual(e.expectedProducts, 80)
        XCTAssertEqual(e.expectedSellers, 260)
        XCTAssertEqual(e.expectedItems, 340)
    }

    func testEmptySelection() {
        let e = CostEstimator.estimate(categories: [], unitCosts: costs)
        XCTAssertEqual(e.totalCents, 0)
        XCTAssertEqual(e.expectedItems, 0)
        XCTAssertTrue(e.categories.isEmpty)
    }

    func testJSONUsesSnakeCaseAndRoundTrips() throws {
        let e = CostEstimator.estimate(categories: [toys], unitCosts: costs)
        let data = try JSONEncoder().encode(e)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["categories", "total_cents", "expected_products", "expected_sellers", "expected_items",
                                          "basis_text"])
        XCTAssertEqual(object["basis_text"] as? String, "catalog figures")
        XCTAssertEqual(object["expected_items"] as? Int, 250)
        let row = try XCTUnwrap((object["categories"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(row.keys), ["category_id", "name", "amazon_calls", "amazon_cents", "ebay_calls", "ebay_cents",
                                       "total_cents", "summary", "basis", "based_on_runs", "basis_text"])
        XCTAssertEqual(row["basis_text"] as? String, "catalog figure")
        XCTAssertEqual(row["summary"] as? String, "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00")
        XCTAssertEqual(try JSONDecoder().decode(CostEstimate.self, from: data), e)
        // Estimates stored before expected_items existed still decode.
        let old = #"{"categories":[],"total_cents":5,"expected_products":1,"expected_sellers":2}"#
        XCTAssertEqual(try JSONDecoder().decode(CostEstimate.self, from: Data(old.utf8)).expectedItems, 3)
    }

    func testInputsEncodeSnakeCase() throws {
        let c = String(decoding: try JSONEncoder().encode(toys), as: UTF8.self)
        XCTAssertTrue(c.contains("\"expected_sellers_per_product\":4"), c)
        let u = String(decoding: try JSONEncoder().encode(costs), as: UTF8.self)
        XCTAssertTrue(u.contains("\"amazon_product_call_cents\":2") && u.contains("\"ebay_seller_call_cents\":1"), u)
    }
}
