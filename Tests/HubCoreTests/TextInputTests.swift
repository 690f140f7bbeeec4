import Foundation
import HubCore
import XCTest

final class TextInputTests: XCTestCase {
    func testRunNamesAreMeasuredInCodePointsLikeTheDatabase() {
        let flags150 = String(repeating: "🇩🇪", count: 150)
        XCTAssertEqual(flags150.count, 150)
        XCTAssertThrowsError(try RunNaming.validate(flags150)) { error in
            XCTAssertEqual((error as? FieldErrors)?.errors.map(\.field), ["name"])
        }
        XCTAssertEqual(try RunNaming.validate(String(repeating: "🇩🇪", count: 100)), String(repeating: "🇩🇪", count: 100))
    }

    func testNamesWithNULAreRefusedNotCut() {
        for name in ["ab\u{0}cd", "\u{0}", "  \u{0}  ", "name\u{0}"] {
            XCTAssertThrowsError(try RunNaming.validate(name), name.debugDescription)
        }
    }

    func testCategoryIDsWithNULOrOverlongAreRefusedAtDecoding() {
        for body in [#"{"category_ids":["books\u0000"]}"#, "{\"category_ids\":[\"\(String(repeating: "x", count: 65))\"]}"] {
            XCTAssertThrowsError(try RunRequestBody.decode(Array(body.utf8))) { error in
                guard case .invalid(let fields)? = error as? RequestBodyError else { return XCTFail("\(error)") }
                XCTAssertEqual(fields.map(\.field), ["category_ids"])
            }
        }
        XCTAssertEqual(try RunRequestBody.decode(Array(#"{"category_ids":["books"]}"#.utf8)).categoryIDs, ["books"])
    }

    func testRunPageCursorIsBoundedAndRoundTrips() throws {
        let id = UUID()
        for text in ["-9223372036854775808_\(id)", "9223372036854775807_\(id)", "-1_\(id)", "+5_\(id)", "5_\(id)_x", "5", "_\(id)"] {
            XCTAssertNil(RunPageCursor(text), text)
        }
        let cursor = try XCTUnwrap(RunPageCursor("1768919400123456_\(id.uuidString.lowercased())"))
        XCTAssertEqual(RunPageCursor(cursor.text), cursor)
        XCTAssertEqual(RunPageCursor(after: cursor.createdAt, runID: id), cursor)
        XCTAssertNil(RunPageCursor(after: Date(timeIntervalSince1970: 1e300), runID: id))
    }
}
