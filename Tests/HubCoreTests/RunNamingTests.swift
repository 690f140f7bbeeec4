import Foundation
import HubCore
import XCTest

final class RunNamingTests: XCTestCase {
    let date = Date(timeIntervalSince1970: 1_768_919_400) // 2026-01-20 14:30:00 UTC

    func testDefaultNameInAFixedTimeZone() throws {
        XCTAssertEqual(RunNaming.defaultName(at: date, timeZone: try XCTUnwrap(TimeZone(identifier: "UTC"))), "Collection 2026-01-20 14:30")
        XCTAssertEqual(RunNaming.defaultName(at: date, timeZone: try XCTUnwrap(TimeZone(secondsFromGMT: -5 * 3600))), "Collection 2026-01-20 09:30")
        XCTAssertEqual(RunNaming.defaultName(at: date, timeZone: try XCTUnwrap(TimeZone(secondsFromGMT: 10 * 3600))), "Collection 2026-01-21 00:30",
                       "the date follows the zone")
    }

    func testSingleDigitsArePadded() throws {
        let early = Date(timeIntervalSince1970: 1_767_229_500) // 2026-01-01 01:05 UTC
        XCTAssertEqual(RunNaming.defaultName(at: early, timeZone: try XCTUnwrap(TimeZone(identifier: "UTC"))), "Collection 2026-01-01 01:05")
    }

    func testValidation() throws {
        XCTAssertNil(try RunNaming.validate(nil))
        XCTAssertNil(try RunNaming.validate(""))
        XCTAssertNil(try RunNaming.validate(" \n\t "), "blank means the default name")
        XCTAssertEqual(try RunNaming.validate("  Spring restock \n"), "Spring restock")
        let longest = String(repeating: "n", count: 200)
        XCTAssertEqual(try RunNaming.validate("  " + longest + "  "), longest, "the limit applies after trimming")
        XCTAssertEqual(try RunNaming.validate(String(repeating: "é", count: 200))?.count, 200, "characters, not bytes")
        do {
            _ = try RunNaming.validate(String(repeating: "n", count: 201))
            XCTFail("accepted 201 characters")
        } catch {
            XCTAssertEqual(error.errors.map(\.field), ["name"])
        }
    }
}
