import Foundation
import HubClient
import HubStore
import HubTestSupport
import XCTest

/// Many subscribers asking the same first question (a page loaded by many users at once, a
/// fleet of clients coming back after a restart) share one table read and one frame, and
/// each still gets exactly what a read of its own would have given it.
final class SharedSnapshotTests: XCTestCase {
    func testSubscribersAskingWhileAReadIsInFlightShareItAndMissNothing() throws {
        let h = try HubHarness()
        // Written while no hub listens: a notification of them arriving late would be a wave
        // that closes the question, and the test would depend on timing.
        var made: UUID?
        try h.restartHub(whileDown: {
            made = try h.makeRun()
            try h.commitItems(run: made!, count: 5)
        })
        let run = try XCTUnwrap(made)
        XCTAssertTrue(waitUntil { ((try? httpGet(port: h.port, path: "/healthz")) ?? nil)?.contains("\"listen\":true") ?? false },
                      "the restarted hub listens before anyone subscribes (one LISTEN epoch for all)")
        let topic = "run:" + run.uuidString.lowercased()
        let clients = try (0..<6).map { _ in EventCollector(try h.connect(token: h.tokenA)) }
        for c in clients { XCTAssertTrue(c.read { !$0.messages(ofType: "hello").isEmpty }) }

        // The first read waits on the lock; everyone after it asks while it is in flight.
        let locker = try PostgresConnection(conninfo: h.conninfo)
        defer { locker.close() }
        try locker.query("BEGIN")
        try locker.query("LOCK TABLE collection_runs IN ACCESS EXCLUSIVE MODE")
        let before = try metric("hub_snapshot_reads_shared_total", port: h.port) ?? -1
        for c in clients {
            c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":2}")
            c.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        }
        let joined = 2 * (clients.count - 1)
        XCTAssertTrue(waitUntil { ((try? metric("hub_snapshot_reads_shared_total", port: h.port)) ?? nil) == before + joined },
                      "every subscriber after the first of each topic joins its read")
        try locker.query("ROLLBACK")

        for c in clients {
            XCTAssertTrue(c.read { $0.messages(ofType: "snapshot").count == 2 })
            let org = c.messages(ofType: "snapshot").first { $0["topic"] as? String == "org" }
            XCTAssertEqual((org?["runs"] as? [[String: Any]])?.count, 1, "the org snapshot lists the run")
        }
        try h.commitItems(run: run, count: 3, prefix: "L")
        for c in clients {
            XCTAssertTrue(c.read { $0.itemSeqs.count >= 6 }, "got \(c.itemSeqs)")
            XCTAssertEqual(c.itemSeqs, Array(3...8), "items after since, then live, each once")
        }
    }
}
