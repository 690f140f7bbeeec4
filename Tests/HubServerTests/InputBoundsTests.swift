import Foundation
import HubClient
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// Issue 12, findings 1 and 6: numbers and text a client sends are bounded where they
/// enter and refused with a clear error (an error frame with the topic, or 422 naming the
/// field), never a trap or a 503.
final class InputBoundsTests: XCTestCase {
    private func api(_ h: HubHarness, _ method: String, _ path: String, body: String? = nil) throws -> (status: Int, json: [String: Any]) {
        let r = try XCTUnwrap(http(port: h.port, method: method, path: "/api/v1" + path, headers: ["Authorization: Bearer \(h.tokenA)"], body: body))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
        return (r.status, json)
    }

    private func fields(_ json: [String: Any]) -> [String] {
        ((json["error"] as? [String: Any])?["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
    }

    func testSubscribeWithSinceAtInt64MaxIsRefusedAndHubStaysUp() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try h.pool.query("UPDATE collection_runs SET status = 'running' WHERE id = $1", [run])
        try h.commitItems(run: run, count: 3)
        let topic = "run:\(run.uuidString.lowercased())"
        let c = EventCollector(try h.connect(token: h.tokenA))
        for since in ["9223372036854775807", "9223372036854775806", "9007199254740992", "-9223372036854775808"] {
            c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":\(since)}")
        }
        XCTAssertTrue(c.read { $0.messages(ofType: "error").count >= 4 })
        for error in c.messages(ofType: "error") {
            XCTAssertEqual(error["code"] as? String, "bad_since")
            XCTAssertEqual(error["topic"] as? String, topic)
        }
        // Live items after the refusals: the hub is still up and the subscription math holds.
        try h.commitItems(run: run, count: 2, prefix: "L")
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":1}")
        try h.commitItems(run: run, count: 2, prefix: "M")
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 6 }, "got \(c.itemSeqs)")
        XCTAssertEqual(c.itemSeqs, Array(2...7))
        XCTAssertEqual(try XCTUnwrap(httpGet(port: h.port, path: "/healthz")).contains("\"status\":\"ok\""), true)
    }

    func testSubscribeWithSincePastTheRunsLastItemIsRefused() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try h.commitItems(run: run, count: 3)
        let topic = "run:\(run.uuidString.lowercased())"
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":9007199254740991}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "error").isEmpty })
        XCTAssertEqual(c.messages(ofType: "error").first?["code"] as? String, "bad_since")
        XCTAssertEqual(c.messages(ofType: "error").first?["topic"] as? String, topic)
        XCTAssertTrue(c.messages(ofType: "snapshot").isEmpty)
    }

    func testClientMistakesInRunRequestsAre422WithTheFieldNotDatabaseFaults() throws {
        let h = try HubHarness()
        // 150 flags: 150 Characters but 300 code points, over the DB CHECK's 200.
        let flags = String(repeating: "🇩🇪", count: 150)
        let long = try api(h, "POST", "/runs", body: "{\"category_ids\":[\"beauty\"],\"name\":\"\(flags)\"}")
        XCTAssertEqual(long.status, 422, "\(long.json)")
        XCTAssertEqual(fields(long.json), ["name"])
        let nulName = try api(h, "POST", "/runs", body: "{\"category_ids\":[\"beauty\"],\"name\":\"ab\\u0000cd\"}")
        XCTAssertEqual(nulName.status, 422, "\(nulName.json)")
        XCTAssertEqual(fields(nulName.json), ["name"])
        for path in ["/runs", "/estimate"] {
            let nulCategory = try api(h, "POST", path, body: "{\"category_ids\":[\"books\\u0000\"]}")
            XCTAssertEqual(nulCategory.status, 422, "\(path): \(nulCategory.json)")
            XCTAssertEqual(fields(nulCategory.json), ["category_ids"])
        }
        let runs = try api(h, "GET", "/runs?cursor=-9223372036854775808_\(UUID().uuidString.lowercased())")
        XCTAssertEqual(runs.status, 422, "\(runs.json)")
        XCTAssertEqual(fields(runs.json), ["cursor"])
        let far = try api(h, "GET", "/runs?cursor=9223372036854775807_\(UUID().uuidString.lowercased())")
        XCTAssertEqual(far.status, 422, "\(far.json)")
        // Nothing was stored by the refused requests; a valid one still works.
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM collection_runs").first?.int("n"), 0)
        XCTAssertEqual(try api(h, "POST", "/runs", body: "{\"category_ids\":[\"beauty\"],\"name\":\"\(String(repeating: "🇩🇪", count: 100))\"}").status, 201)
    }

    func testItemCursorsBeyondTheSequenceRangeAre422() throws {
        let h = try HubHarness()
        let run = try h.makeRun().uuidString.lowercased()
        for query in ["after=9223372036854775807", "before=-1", "after=99999999999999999999"] {
            let r = try api(h, "GET", "/runs/\(run)/items?\(query)")
            XCTAssertEqual(r.status, 422, "\(query): \(r.json)")
        }
        XCTAssertEqual(try api(h, "GET", "/runs/\(run)/items?after=0").status, 200)
    }

    func testDatabaseRefusingAValueIsA422AndNulNeverReachesLibpq() throws {
        let h = try HubHarness()
        // Straight at the store: a NUL parameter is refused as input (22021), not cut.
        XCTAssertThrowsError(try h.pool.query("SELECT $1::text AS t", ["ab\u{0}cd"])) { error in
            let pg = error as? PostgresError
            XCTAssertEqual(pg?.sqlState, "22021")
            XCTAssertEqual(pg?.isCausedByInput, true)
            XCTAssertEqual(pg?.isConnectionError, false)
        }
        XCTAssertThrowsError(try h.pool.query("SELECT $1::int AS n", ["99999999999"])) { error in
            XCTAssertEqual((error as? PostgresError)?.isCausedByInput, true)
        }
    }
}
