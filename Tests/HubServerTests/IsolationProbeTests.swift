import Foundation
import HubClient
import HubStore
import HubTestSupport
import XCTest

/// Scenario 9: random REST and WebSocket requests with one org's token for another org's
/// runs, items and sellers: every answer 403/404 or empty, never a row of the other org.
final class IsolationProbeTests: XCTestCase {
    func testRandomCrossOrgProbesSeeNothing() throws {
        let h = try HubHarness()
        var runsA: [UUID] = []
        for _ in 0..<3 {
            let run = try h.makeRun(org: h.orgA)
            try h.commitItems(run: run, count: 5, prefix: "SECRET-A-")
            runsA.append(run)
        }
        try h.pool.query("""
            INSERT INTO sellers (org_id, display_name, normalized_name, platform) VALUES ($1, 'Secret Seller A', 'secret seller a', 'ebay')
            """, [h.orgA])
        let secrets = runsA.map { $0.uuidString.lowercased() } + ["SECRET-A-", "Secret Seller A", "secret seller a"]
        var rng = SeededRandom(defaultSeed: 20_261_130)
        let replay = rng.seedNote
        let paths: [(String, (String) -> String)] = [
            ("GET", { "/api/v1/runs/\($0)" }),
            ("GET", { "/api/v1/runs/\($0)/items?limit=\(Int.random(in: 1...200, using: &rng))" }),
            ("GET", { "/api/v1/runs/\($0)/items?status=completed&after=0" }),
            ("GET", { "/api/v1/runs/\($0)/items?item_type=amazon_product&before=100" }),
            ("POST", { "/api/v1/runs/\($0)/pause" }),
            ("POST", { "/api/v1/runs/\($0)/resume" }),
            ("POST", { "/api/v1/runs/\($0)/cancel" }),
            ("GET", { _ in "/api/v1/runs?limit=200" }),
            ("GET", { _ in "/api/v1/sellers?q=secret" }),
            ("GET", { _ in "/api/v1/status" }),
        ]
        for _ in 0..<150 {
            let run = runsA.randomElement(using: &rng)!.uuidString.lowercased()
            let (method, path) = paths.randomElement(using: &rng)!
            let r = try XCTUnwrap(http(port: h.port, method: method, path: path(run), headers: ["Authorization: Bearer \(h.tokenB)"],
                                       body: method == "POST" ? "{}" : nil))
            XCTAssertTrue([200, 403, 404].contains(r.status), "\(method) \(path(run)) → \(r.status) \(replay)")
            for secret in secrets { XCTAssertFalse(r.body.contains(secret), "\(method) \(path(run)) leaked \(secret) \(replay)") }
        }
        let ws = EventCollector(try h.connect(token: h.tokenB))
        for run in runsA {
            ws.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\",\"since\":\(Int.random(in: 0...5, using: &rng))}")
        }
        ws.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(ws.read { $0.messages(ofType: "error").count >= 3 && !$0.messages(ofType: "snapshot").isEmpty })
        try h.commitItems(run: runsA[0], count: 5, prefix: "SECRET-A-LIVE-")
        try h.pool.query("UPDATE collection_runs SET status = 'running' WHERE id = $1", [runsA[1]])
        // A barrier instead of a wait: notifications reach the hub in commit order, so once B's
        // stream shows B's own later change, anything of A's would have arrived before it.
        let runB = try h.orgBarrier(ws, org: h.orgB)
        XCTAssertTrue(ws.itemSeqs.isEmpty)
        XCTAssertEqual(Set(ws.messages(ofType: "error").compactMap { $0["code"] as? String }), ["not_found"])
        XCTAssertEqual(Set(ws.messages(ofType: "run").compactMap { $0["run"] as? String }), [runB.uuidString.lowercased()], "B saw a run of A")
        XCTAssertEqual((ws.messages(ofType: "snapshot").first?["runs"] as? [Any])?.count, 0)
        // Nothing was changed by B's attempts.
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM collection_runs WHERE status = 'cancelled'").first?.int("n"), 0)
    }
}
