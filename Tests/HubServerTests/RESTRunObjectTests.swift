import Foundation
import HubClient
import HubStore
import HubTestSupport
import XCTest

/// The run object clients see (issue 14): no engine state, `paused_at` only while paused,
/// one timestamp format over REST and WebSocket, and one answer to what `collection.view`
/// may read on both.
final class RESTRunObjectTests: XCTestCase {
    /// REST's format: ISO 8601 UTC, milliseconds, `Z`.
    private static let restTimestamp = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#

    private func assertTimestamps(_ object: [String: Any], _ keys: [String], _ context: String,
                                  file: StaticString = #filePath, line: UInt = #line) {
        for key in keys {
            guard let value = object[key] as? String else { continue }
            XCTAssertNotNil(value.range(of: Self.restTimestamp, options: .regularExpression),
                            "\(context) \(key) = \(value)", file: file, line: line)
        }
    }

    func testRunObjectHasNoEngineStateAndPausedAtOnlyWhilePaused() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let id = run.uuidString.lowercased()
        try h.pool.query("""
            UPDATE collection_runs SET status = 'running', started_at = now(), lease_owner = 'engine-x' WHERE id = $1
            """, [run])
        for answer in [try h.rest("GET", "/runs/\(id)", token: h.tokenA), try h.rest("POST", "/runs/\(id)/pause", token: h.tokenA)] {
            XCTAssertEqual(answer.status, 200, answer.text)
            for key in ["lease_owner", "lease_token", "checkpoint"] {
                XCTAssertNil(answer.object[key], "\(key) is engine state: \(answer.text)")
            }
        }
        let list = try h.rest("GET", "/runs", token: h.tokenA)
        XCTAssertFalse(list.text.contains("lease_"), list.text)
        XCTAssertNotNil(try h.rest("GET", "/runs/\(id)", token: h.tokenA).object["paused_at"] as? String)

        let resumed = try h.rest("POST", "/runs/\(id)/resume", token: h.tokenA)
        XCTAssertEqual(resumed.status, 200, resumed.text)
        XCTAssertTrue(resumed.object["paused_at"] == nil || resumed.object["paused_at"] is NSNull, "resume clears paused_at: \(resumed.text)")
        XCTAssertNil(try h.scalar("SELECT paused_at::text AS v FROM collection_runs WHERE id = $1", [run]))

        XCTAssertEqual(try h.rest("POST", "/runs/\(id)/pause", token: h.tokenA).status, 200)
        let cancelled = try h.rest("POST", "/runs/\(id)/cancel", token: h.tokenA)
        XCTAssertEqual(cancelled.object["status"] as? String, "cancelled", cancelled.text)
        XCTAssertNil(try h.scalar("SELECT paused_at::text AS v FROM collection_runs WHERE id = $1", [run]), "cancel from paused clears it")
        assertTimestamps(cancelled.object, ["started_at", "completed_at", "created_at", "updated_at"], "REST")
    }

    func testWebSocketRunAndItemEventsUseTheRESTTimestampFormat() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let id = run.uuidString.lowercased()
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(id)\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.pool.query("UPDATE collection_runs SET status = 'running', started_at = now(), updated_at = now() WHERE id = $1", [run])
        try h.commitItems(run: run, count: 1)
        XCTAssertTrue(c.read { c in
            !c.messages(ofType: "item").isEmpty && c.messages(ofType: "run").contains { $0["started_at"] != nil }
        })
        let event = try XCTUnwrap(c.messages(ofType: "run").last { $0["started_at"] != nil })
        assertTimestamps(event, ["started_at", "updated_at"], "run event")
        XCTAssertNotNil(event["started_at"] as? String)
        assertTimestamps(try XCTUnwrap(c.messages(ofType: "item").first), ["created_at"], "item event")
        XCTAssertNil(event["lease_owner"])

        // The same instant over REST and over the WebSocket (REST goes through a Double, so
        // the last millisecond digit may differ by one).
        let rest = try h.rest("GET", "/runs/\(id)", token: h.tokenA)
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let a = try style.parse(XCTUnwrap(rest.object["started_at"] as? String))
        let b = try style.parse(XCTUnwrap(event["started_at"] as? String))
        XCTAssertLessThanOrEqual(abs(a.timeIntervalSince(b)), 0.002)
    }

    /// collection.view reads the run objects (REST and the org topic), nothing else.
    func testViewReadsRunsOverRESTAsOverTheOrgTopicAndNothingElse() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let id = run.uuidString.lowercased()
        try h.commitItems(run: run, count: 2)

        let list = try h.rest("GET", "/runs", token: h.viewerA)
        XCTAssertEqual(list.status, 200, list.text)
        XCTAssertEqual(list.items.compactMap { $0["id"] as? String }, [id])
        let one = try h.rest("GET", "/runs/\(id)", token: h.viewerA)
        XCTAssertEqual(one.status, 200, one.text)
        XCTAssertEqual(one.object["id"] as? String, id)
        XCTAssertEqual(try h.rest("GET", "/status", token: h.viewerA).status, 200)

        for (method, path) in [("GET", "/runs/\(id)/items"), ("GET", "/sellers"), ("GET", "/settings"), ("GET", "/categories"),
                               ("POST", "/runs/\(id)/pause"), ("POST", "/runs/\(id)/cancel"), ("POST", "/estimate"), ("POST", "/runs")] {
            assertError(try h.rest(method, path, token: h.viewerA, body: method == "POST" ? "{}" : nil), 403, "forbidden", "\(method) \(path)")
        }
        XCTAssertEqual(try h.scalar("SELECT status AS v FROM collection_runs WHERE id = $1", [run]), "pending")
        // Another org's run is still not found for a viewer.
        let foreign = try h.makeRun(org: h.orgB)
        assertError(try h.rest("GET", "/runs/\(foreign.uuidString)", token: h.viewerA), 404, "not_found")

        // The WebSocket side agrees: the org topic shows the same run, a run topic is forbidden.
        let v = EventCollector(try h.connect(token: h.viewerA))
        v.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(v.read { !$0.messages(ofType: "snapshot").isEmpty })
        let runs = v.messages(ofType: "snapshot").first?["runs"] as? [[String: Any]] ?? []
        XCTAssertEqual(runs.compactMap { $0["run"] as? String }, [id])
        v.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(id)\"}")
        XCTAssertTrue(v.read { !$0.messages(ofType: "error").isEmpty })
        XCTAssertEqual(v.messages(ofType: "error").first?["code"] as? String, "forbidden")
        XCTAssertEqual(v.messages(ofType: "error").first?["topic"] as? String, "run:\(id)")
    }
}
