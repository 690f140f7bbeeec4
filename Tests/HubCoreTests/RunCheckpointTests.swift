import Foundation
import HubCore
import XCTest

final class RunCheckpointTests: XCTestCase {
    func testJSONRoundTripWithSnakeCaseKeys() throws {
        var cp = RunCheckpoint(categoryIndex: 2, productOffset: 17, lastSeq: 9_007_199_254_740_993, budgetWarned: true)
        XCTAssertEqual(cp.version, 1)
        let data = try JSONEncoder().encode(cp)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["version", "category_index", "product_offset", "last_seq", "budget_warned"])
        XCTAssertEqual(object["category_index"] as? Int, 2)
        XCTAssertEqual(object["budget_warned"] as? Bool, true)
        XCTAssertEqual(try JSONDecoder().decode(RunCheckpoint.self, from: data), cp, "Int64 sequence numbers survive exactly")

        cp.sellerOffset = 3
        let withSellers = try JSONEncoder().encode(cp)
        XCTAssertTrue(String(decoding: withSellers, as: UTF8.self).contains("\"seller_offset\":3"))
        XCTAssertEqual(try JSONDecoder().decode(RunCheckpoint.self, from: withSellers), cp)
    }

    func testDecodesWhatTheDatabaseHolds() throws {
        let json = #"{"version":1,"category_index":0,"product_offset":4,"last_seq":12,"budget_warned":false}"#
        let cp = try JSONDecoder().decode(RunCheckpoint.self, from: Data(json.utf8))
        XCTAssertEqual(cp, RunCheckpoint(categoryIndex: 0, productOffset: 4, lastSeq: 12, budgetWarned: false))
        XCTAssertNil(cp.sellerOffset)
        XCTAssertThrowsError(try JSONDecoder().decode(RunCheckpoint.self, from: Data(#"{"categoryIndex":0}"#.utf8)))
    }

    func testFreshCheckpoint() {
        let cp = RunCheckpoint()
        XCTAssertEqual([cp.categoryIndex, cp.productOffset, cp.version], [0, 0, 1])
        XCTAssertEqual(cp.lastSeq, 0)
        XCTAssertFalse(cp.budgetWarned)
    }
}
