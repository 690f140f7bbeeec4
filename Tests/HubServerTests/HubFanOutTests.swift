import Foundation
import HubClient
import HubCore
import HubServer
import HubStore
import HubTestSupport
import XCTest

final class HubFanOutTests: XCTestCase {
    func testUpgradeNeedsValidCredentialsAndOrigin() throws {
        let h = try HubHarness()
        XCTAssertThrowsError(try h.connect()) { XCTAssertEqual(($0 as? WebSocketClientError)?.httpStatus, 401) }
        XCTAssertThrowsError(try h.connect(token: "chub_nope")) { XCTAssertEqual(($0 as? WebSocketClientError)?.httpStatus, 401) }
        XCTAssertThrowsError(try h.connect(token: h.tokenA, headers: [("Origin", "http://evil.example")])) {
            XCTAssertEqual(($0 as? WebSocketClientError)?.httpStatus, 403)
        }
        let client = try h.connect(token: h.tokenA)
        let c = EventCollector(client)
        XCTAssertTrue(c.read { !$0.messages(ofType: "hello").isEmpty })
    }

    func testBrowserMayOfferItsTokenAsASubprotocol() throws {
        // What <collection-status token=…> does: a browser cannot set Authorization.
        let h = try HubHarness()
        let client = try SimpleWebSocketClient.connect(port: h.port, subprotocol: "collection-hub.v1, bearer.\(h.tokenA)")
        let c = EventCollector(client)
        XCTAssertTrue(c.read { !$0.messages(ofType: "hello").isEmpty })
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: h.port, subprotocol: "collection-hub.v1, bearer.chub_nope")) {
            XCTAssertEqual(($0 as? WebSocketClientError)?.httpStatus, 401)
        }
    }

    func testLiveItemsArriveOnceAndInOrder() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.commitItems(run: run, count: 300, perTransaction: 7)
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 300 }, "got \(c.itemSeqs.count)")
        XCTAssertEqual(c.itemSeqs, Array(1...300))
    }

    func testSinceReplaysExactlyTheRestThenGoesLive() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try h.commitItems(run: run, count: 1200, perTransaction: 100)
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\",\"since\":50}")
        // Items committed while the replay is being read must not be lost or doubled.
        try h.commitItems(run: run, count: 40, perTransaction: 1, prefix: "L")
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 1190 }, "got \(c.itemSeqs.count)")
        XCTAssertEqual(c.itemSeqs, Array(51...1240))
    }

    func testStatementTooLargeForPayloadIsReadFromTable() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.commitItems(run: run, count: 700, perTransaction: 700)
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 700 })
        XCTAssertEqual(c.itemSeqs, Array(1...700))
    }

    /// 200 statements committed together reach the hub as one burst, far more than a turn of
    /// a hub with a 512-byte drain (frames of 1 KiB) takes: the rest waits on the socket for
    /// the next turns, each counted, and the client still gets every item once, in order.
    func testABurstLargerThanATurnArrivesWholeOverSeveralTurns() throws {
        let h = try HubHarness { $0.maxFrameBytes = 1024 }
        let run = try h.makeRun()
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.pool.withTransaction { conn in
            for statement in 0..<200 {
                try conn.query("""
                    INSERT INTO collection_items (run_id, item_type, external_id, status, data, cost_cents)
                    SELECT $1, 'amazon_product', 'B' || g, 'completed', jsonb_build_object('title', 'Product ' || g), 1
                    FROM generate_series($2::int, $3::int) g
                    """, [run, statement * 5 + 1, statement * 5 + 5])
            }
        }
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 1000 }, "got \(c.itemSeqs.count)")
        XCTAssertEqual(c.itemSeqs, Array(1...1000))
        let metrics = try XCTUnwrap(httpGet(port: h.port, path: "/metrics"))
        let bounded = metrics.split(separator: "\n").first { $0.hasPrefix("hub_listen_turns_left_waiting_total ") }
        XCTAssertGreaterThan(Int(bounded?.split(separator: " ").last ?? "") ?? 0, 0, metrics)
    }

    func testDroppedListenConnectionLosesNothing() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        for round in 0..<3 {
            try h.commitItems(run: run, count: 10, prefix: "A\(round)-")
            let pid = try XCTUnwrap(h.hub.listenBackendPID())
            try h.pool.query("SELECT pg_terminate_backend($1)", [Int(pid)])
            // Committed while the hub has no LISTEN connection: only a backfill finds these.
            try h.commitItems(run: run, count: 10, prefix: "B\(round)-")
            XCTAssertTrue(waitUntil { (h.hub.listenBackendPID() ?? pid) != pid }, "LISTEN did not reconnect")
        }
        try h.commitItems(run: run, count: 5, prefix: "C")
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 65 }, "got \(c.itemSeqs.count)")
        XCTAssertEqual(c.itemSeqs, Array(1...65))
    }

    func testClientsWhoSubscribeBeforeTheHubListensMissNothing() throws {
        // A restarted hub serves before its LISTEN connection is up, and reconnecting
        // dashboards subscribe at once: what commits in between is never notified.
        // Held back until the test opens the window itself: no race with a timer.
        let h = try HubHarness { $0.listenStartDelay = .seconds(3600) }
        let run = try h.makeRun()
        let feed = EventCollector(try h.connect(token: h.tokenA))
        feed.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\",\"since\":0}")
        let nav = EventCollector(try h.connect(token: h.tokenA))
        nav.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(feed.read { !$0.messages(ofType: "snapshot").isEmpty })
        XCTAssertTrue(nav.read { !$0.messages(ofType: "snapshot").isEmpty })
        XCTAssertNil(h.hub.listenBackendPID())
        try h.commitItems(run: run, count: 5)
        try h.pool.query("UPDATE collection_runs SET status = 'running', started_at = now() WHERE id = $1", [run])
        h.hub.startListeningNow()
        XCTAssertTrue(feed.read { $0.itemSeqs.count >= 5 }, "got \(feed.itemSeqs)")
        XCTAssertEqual(feed.itemSeqs, Array(1...5))
        XCTAssertTrue(nav.read { $0.messages(ofType: "run").contains { $0["status"] as? String == "running" } },
                      "the org stream never learned the run started")
        XCTAssertTrue(nav.read { $0.messages(ofType: "badge").contains { ($0["running"] as? Int) == 1 } })
    }

    func testRevokingATokenClosesItsOpenConnections() throws {
        let h = try HubHarness { $0.credentialCheckInterval = .milliseconds(200) }
        let tokens = TokenRepository(pool: h.pool)
        let (record, secret) = try h.makeToken(name: "soon revoked", permissions: [Permission.adminAutomation])
        let doomed = EventCollector(try h.connect(token: secret))
        let other = EventCollector(try h.connect(token: h.tokenA))
        for c in [doomed, other] { c.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}") }
        XCTAssertTrue(doomed.read { !$0.messages(ofType: "snapshot").isEmpty })
        XCTAssertTrue(other.read { !$0.messages(ofType: "snapshot").isEmpty })
        XCTAssertTrue(try tokens.tokenRevoke(orgID: h.orgA, tokenID: record.id))
        XCTAssertEqual(doomed.client.waitForClose(timeout: .seconds(30)), 4401, "a revoked token kept its stream")
        // The other token's connection is untouched and still served.
        let run = try h.makeRun()
        try h.pool.query("UPDATE collection_runs SET status = 'running', started_at = now() WHERE id = $1", [run])
        XCTAssertTrue(other.read { $0.messages(ofType: "run").contains { $0["status"] as? String == "running" } })
    }

    func testOtherOrgsRunIsNotFoundAndSilent() throws {
        let h = try HubHarness()
        let runA = try h.makeRun(org: h.orgA)
        let b = EventCollector(try h.connect(token: h.tokenB))
        b.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(runA.uuidString.lowercased())\"}")
        XCTAssertTrue(b.read { !$0.messages(ofType: "error").isEmpty })
        XCTAssertEqual(b.messages(ofType: "error").first?["code"] as? String, "not_found")
        b.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(b.read { !$0.messages(ofType: "snapshot").isEmpty })
        XCTAssertEqual((b.messages(ofType: "snapshot").first?["runs"] as? [Any])?.count, 0)
        try h.commitItems(run: runA, count: 5)
        try h.pool.query("UPDATE collection_runs SET status = 'running' WHERE id = $1", [runA])
        let marker = try h.orgBarrier(b, org: h.orgB)
        XCTAssertTrue(b.itemSeqs.isEmpty)
        XCTAssertEqual(Set(b.messages(ofType: "run").compactMap { $0["run"] as? String }), [marker.uuidString.lowercased()],
                       "org B saw org A's run")
    }

    func testViewerMaySeeBadgeButNotRuns() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let v = EventCollector(try h.connect(token: h.viewerA))
        v.client.send("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\"}")
        XCTAssertTrue(v.read { !$0.messages(ofType: "error").isEmpty })
        XCTAssertEqual(v.messages(ofType: "error").first?["code"] as? String, "forbidden")
        v.client.send("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(v.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.pool.query("UPDATE collection_runs SET status = 'running', started_at = now() WHERE id = $1", [run])
        XCTAssertTrue(v.read { c in c.messages(ofType: "badge").contains { ($0["running"] as? Int) == 1 } })
        try h.pool.query("UPDATE collection_runs SET status = 'completed', completed_at = now() WHERE id = $1", [run])
        XCTAssertTrue(v.read { c in c.messages(ofType: "badge").last.map { ($0["running"] as? Int) == 0 } ?? false })
    }

    func testBadMessagesGetErrorFramesAndConnectionSurvives() throws {
        let h = try HubHarness()
        let c = EventCollector(try h.connect(token: h.tokenA))
        for bad in ["{not json", "[1,2]", "{\"type\":\"dance\"}", "{\"type\":\"subscribe\",\"topic\":\"run:nope\"}",
                    "{\"type\":\"subscribe\",\"topic\":\"run:\(UUID().uuidString)\",\"since\":-3}"] {
            c.client.send(bad)
        }
        XCTAssertTrue(c.read { $0.messages(ofType: "error").count >= 5 })
        XCTAssertEqual(c.messages(ofType: "error").compactMap { $0["code"] as? String },
                       ["bad_json", "not_object", "unknown_type", "bad_topic", "bad_since"])
        // Every error about a topic names it, as sent (issue 14).
        let errors = c.messages(ofType: "error")
        XCTAssertEqual(errors[3]["topic"] as? String, "run:nope")
        XCTAssertNotNil(errors[4]["topic"] as? String)
        c.client.send("{\"type\":\"ping\",\"id\":7}")
        c.client.send("{\"type\":\"ping\",\"id\":\"7\"}")
        XCTAssertTrue(c.read { $0.messages(ofType: "pong").count >= 2 })
        // The id comes back with its JSON type: a number stays a number.
        let pongs = c.messages(ofType: "pong")
        XCTAssertEqual(pongs[0]["id"] as? Int, 7)
        XCTAssertFalse(pongs[0]["id"] is String)
        XCTAssertEqual(pongs[1]["id"] as? String, "7")
        c.client.sendBinary([1, 2, 3])
        XCTAssertEqual(c.client.waitForClose(timeout: .seconds(30)), 1003)
    }

    func testHealthAndMetrics() throws {
        let h = try HubHarness()
        let health = try XCTUnwrap(httpGet(port: h.port, path: "/healthz"))
        XCTAssertTrue(health.contains("\"listen\":true"), health)
        let metrics = try XCTUnwrap(httpGet(port: h.port, path: "/metrics"))
        XCTAssertTrue(metrics.contains("hub_listen_reconnects_total 0"), metrics)
        XCTAssertTrue(metrics.contains("hub_listen_turns_left_waiting_total 0"), metrics)
        XCTAssertTrue(metrics.contains("hub_pg_notification_queue_usage"), metrics)
    }
}

/// A plain blocking HTTP/1.0 GET over loopback; returns the body.
/// A sample of /metrics: the value of the line `name value` (labels included in `name`).
func metric(_ name: String, port: Int) throws -> Int? {
    let text = try XCTUnwrap(httpGet(port: port, path: "/metrics"))
    let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { Int($0.split(separator: " ")[1]) }
}

func httpGet(port: Int, path: String, headers: [String] = []) throws -> String? {
    try http(port: port, method: "GET", path: path, headers: headers)?.body
}

/// A plain blocking HTTP/1.0 request over loopback; returns status and body.
func http(port: Int, method: String, path: String, headers: [String] = [], body: String? = nil) throws -> (status: Int, body: String)? {
    guard let fd = loopbackSocket(port: port) else { return nil }
    defer { close(fd) }
    var request = "\(method) \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n" + headers.map { $0 + "\r\n" }.joined()
    if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body } else { request += "\r\n" }
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    let text = String(decoding: readAnswer(fd), as: UTF8.self)
    let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
}
