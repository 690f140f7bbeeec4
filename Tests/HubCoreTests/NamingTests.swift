import Foundation
import HubCore
import XCTest

final class NamingTests: XCTestCase {
    func testSellerNormalization() {
        let forms = ["SELLER ABC", " seller  abc ", "ＳＥＬＬＥＲ　ＡＢＣ", "Seller\tABC\n", "seller\u{00A0}abc"]
        XCTAssertEqual(Set(forms.map(SellerName.normalize)), ["seller abc"])
        XCTAssertNotEqual(SellerName.normalize("seller abd"), "seller abc")
    }

    func testDefaultRunName() throws {
        let date = Date(timeIntervalSince1970: 1_768_919_400) // 2026-01-20 14:30 UTC
        XCTAssertEqual(RunNaming.defaultName(at: date, timeZone: TimeZone(identifier: "UTC")!), "Collection 2026-01-20 14:30")
        XCTAssertEqual(RunNaming.defaultName(at: date, timeZone: TimeZone(identifier: "Asia/Tokyo")!), "Collection 2026-01-20 23:30")
    }

    func testNameValidation() throws {
        XCTAssertNil(try RunNaming.validate("   "))
        XCTAssertEqual(try RunNaming.validate("  Spring  "), "Spring")
        XCTAssertThrowsError(try RunNaming.validate(String(repeating: "n", count: 201)))
    }

    func testBackoffDoublesToCapWithJitterAndRetryAfter() {
        var rng = SplitMix64(seed: 7)
        var b = Backoff(initial: .seconds(1), maximum: .seconds(8), multiplier: 2, jitter: 0)
        XCTAssertEqual((0..<6).map { _ in b.next(random: &rng) }, [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(8), .seconds(8)])
        b.reset()
        XCTAssertEqual(b.next(random: &rng), .seconds(1))
        XCTAssertEqual(b.next(retryAfter: .seconds(3), random: &rng), .seconds(3))
        XCTAssertEqual(b.next(retryAfter: .seconds(100), random: &rng), .seconds(8))
        var j = Backoff(initial: .seconds(10), maximum: .seconds(60), multiplier: 2, jitter: 0.2)
        for _ in 0..<50 {
            j.reset()
            let d = j.next(random: &rng)
            XCTAssertGreaterThanOrEqual(d, .seconds(8))
            XCTAssertLessThanOrEqual(d, .seconds(12))
        }
    }

    func testCheckpointJSONUsesSnakeCase() throws {
        let cp = RunCheckpoint(categoryIndex: 2, productOffset: 17, lastSeq: 99, budgetWarned: true)
        let json = String(decoding: try JSONEncoder().encode(cp), as: UTF8.self)
        XCTAssertTrue(json.contains("\"category_index\":2") && json.contains("\"last_seq\":99"), json)
        XCTAssertEqual(try JSONDecoder().decode(RunCheckpoint.self, from: Data(json.utf8)), cp)
    }
}
