import Foundation
import HubStore
import HubTestSupport
import XCTest

final class NotifyTriggerTests: XCTestCase {
    /// A LISTENing connection, a writer, and a run whose own insert notification is drained.
    func listeningSetup() throws -> (listener: PostgresConnection, writer: PostgresConnection, runID: UUID) {
        let db = try TestDatabase.shared.migratedDatabase()
        let listener = try PostgresConnection(conninfo: db)
        try listener.listen()
        let writer = try PostgresConnection(conninfo: db)
        let runID = try Fixtures.makeRun(writer)
        _ = try notifications(to: listener, before: writer)  // the run's own insert
        return (listener, writer, runID)
    }

    /// Everything `listener` receives before a marker NOTIFY committed now on `marker`.
    /// A barrier, not a wait: PostgreSQL delivers notifications in commit order, so a
    /// notification that an earlier statement sent has arrived by the time the marker has.
    func notifications(to listener: PostgresConnection, before marker: PostgresConnection) throws -> [PostgresNotification] {
        let token = "marker-\(UUID().uuidString)"
        try marker.query("SELECT pg_notify($1, $2)", [PostgresConnection.notifyChannel, token])
        var seen: [PostgresNotification] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            for note in try listener.waitForNotifications(timeout: .seconds(1)) {
                if note.payloadString == token { return seen }
                seen.append(note)
            }
        }
        XCTFail("the marker notification never arrived")
        return seen
    }

    func testItemWithOneMegabyteDataNotifiesUnder8000Bytes() throws {
        let (listener, writer, runID) = try listeningSetup()

        let big = String(repeating: "x", count: 1_000_000)
        let title = String(repeating: "T", count: 5000)
        try writer.query("""
            INSERT INTO collection_items (run_id, item_type, external_id, status, data, cost_cents)
            VALUES ($1, 'amazon_product', 'B000BIG', 'completed', jsonb_build_object('title', $2::text, 'blob', $3::text), 5)
            """, [runID, title, big])
        let notes = try notifications(to: listener, before: writer)
        let itemNote = try XCTUnwrap(notes.first { $0.payloadString.hasPrefix("{\"k\":\"items\"") })
        XCTAssertLessThan(itemNote.payload.count, 8000)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(itemNote.payload)) as? [String: Any])
        XCTAssertEqual(json["run"] as? String, runID.uuidString.lowercased())
        XCTAssertEqual(json["lo"] as? Int, 1)
        let events = try XCTUnwrap(json["ev"] as? [[String: Any]])
        XCTAssertEqual(events.first?["external_id"] as? String, "B000BIG")
        XCTAssertEqual((events.first?["title"] as? String)?.count, 120)
    }

    func testLargeStatementSendsOneNotificationWithoutEvents() throws {
        let (listener, writer, runID) = try listeningSetup()
        try writer.query("""
            INSERT INTO collection_items (run_id, item_type, external_id, status)
            SELECT $1, 'amazon_product', 'P' || g, 'completed' FROM generate_series(1, 500) g
            """, [runID])
        let notes = try notifications(to: listener, before: writer)
        XCTAssertEqual(notes.count, 1, "one notification per statement, not per row")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(notes[0].payload)) as? [String: Any])
        XCTAssertEqual(json["lo"] as? Int, 1)
        XCTAssertEqual(json["hi"] as? Int, 500)
        XCTAssertNil(json["ev"], "events too large for one payload are read from the table")
        XCTAssertLessThan(notes[0].payload.count, 8000)
    }

    func testUncommittedItemsAreNotAnnounced() throws {
        let (listener, writer, runID) = try listeningSetup()
        try writer.query("BEGIN")
        try writer.query("INSERT INTO collection_items (run_id, item_type, external_id) VALUES ($1, 'amazon_product', 'X1')", [runID])
        // The marker comes from another session: the writer's is inside the open transaction.
        XCTAssertEqual(try notifications(to: listener, before: listener).map(\.payloadString), [])
        try writer.query("ROLLBACK")
        XCTAssertEqual(try notifications(to: listener, before: writer).map(\.payloadString), [])
        // The rolled-back insert did not burn a sequence number.
        try writer.query("INSERT INTO collection_items (run_id, item_type, external_id) VALUES ($1, 'amazon_product', 'X2')", [runID])
        XCTAssertEqual(try writer.query("SELECT seq FROM collection_items WHERE external_id = 'X2'").first?.int("seq"), 1)
    }

    func testRunUpdateNotifiesButHeartbeatDoesNot() throws {
        let (listener, writer, runID) = try listeningSetup()
        try writer.query("UPDATE collection_runs SET heartbeat_at = now(), lease_expires_at = now() + interval '10 s' WHERE id = $1", [runID])
        XCTAssertEqual(try notifications(to: listener, before: writer).map(\.payloadString), [])
        try writer.query("UPDATE collection_runs SET status = 'running', status_reason = NULL WHERE id = $1", [runID])
        let notes = try notifications(to: listener, before: writer)
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].payloadString.contains("\"status_changed\":true"))
        XCTAssertTrue(notes[0].payloadString.contains("\"status\":\"running\""))
    }

    func testCostCannotExceedCap() throws {
        let db = try TestDatabase.shared.migratedDatabase()
        let writer = try PostgresConnection(conninfo: db)
        let runID = try Fixtures.makeRun(writer)
        XCTAssertThrowsError(try writer.query("UPDATE collection_runs SET actual_cost_cents = budget_cap_cents + 1 WHERE id = $1", [runID])) {
            XCTAssertEqual(($0 as? PostgresError)?.sqlState, "23514")
        }
    }
}

/// Minimal rows for trigger tests: an org, a user, a pending run.
enum Fixtures {
    static func makeRun(_ c: PostgresConnection) throws -> UUID {
        let org = try c.query("INSERT INTO orgs (name, slug) VALUES ('Org', 'org-' || substr(md5(random()::text), 1, 8)) RETURNING id").first!.uuid("id")
        let user = try c.query("INSERT INTO users (email, display_name) VALUES (md5(random()::text) || '@example.com', 'Admin') RETURNING id").first!.uuid("id")
        return try c.query("""
            INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
            VALUES ($1, 'Run', 100, 2500, $2, $3) RETURNING id
            """, [org, ["electronics"], user]).first!.uuid("id")
    }
}
