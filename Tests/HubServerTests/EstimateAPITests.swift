import Foundation
import XCTest

/// /api/v1/estimate says where its figures come from; run objects carry the plan apart
/// from the best-known total and progress.
final class EstimateAPITests: XCTestCase {
    func post(_ h: HubHarness, _ path: String, _ body: String) throws -> (status: Int, json: [String: Any]) {
        let r = try XCTUnwrap(http(port: h.port, method: "POST", path: "/api/v1" + path, headers: ["Authorization: Bearer \(h.tokenA)"], body: body))
        return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:])
    }

    func testEstimateBasisAndRunProgressFields() throws {
        let h = try HubHarness()
        let estimate = try post(h, "/estimate", "{\"category_ids\":[\"beauty\"]}")
        XCTAssertEqual(estimate.status, 200)
        XCTAssertEqual(estimate.json["basis_text"] as? String, "catalog figures")
        let row = try XCTUnwrap((estimate.json["categories"] as? [[String: Any]])?.first)
        XCTAssertEqual(row["basis"] as? String, "catalog")
        XCTAssertEqual(row["based_on_runs"] as? Int, 0)
        XCTAssertEqual(row["basis_text"] as? String, "catalog figure")

        let bad = try post(h, "/estimate", "{\"category_ids\":[\"beauty\",\"beauty\"]}")
        XCTAssertEqual(bad.status, 422)
        let fields = ((bad.json["error"] as? [String: Any])?["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
        XCTAssertEqual(fields, ["category_ids"])

        let run = try post(h, "/runs", "{\"category_ids\":[\"beauty\"]}")
        XCTAssertEqual(run.status, 201)
        XCTAssertEqual(run.json["planned_items"] as? Int, estimate.json["expected_items"] as? Int)
        XCTAssertEqual(run.json["expected_items"] as? Int, estimate.json["expected_items"] as? Int)
        XCTAssertEqual((run.json["progress_percent"] as? NSNumber)?.doubleValue, 0)
        XCTAssertEqual((run.json["estimate"] as? [String: Any])?["basis_text"] as? String, "catalog figures")
    }
}
