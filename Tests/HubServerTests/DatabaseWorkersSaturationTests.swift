import Foundation
import HubClient
import HubStore
import HubTestSupport
@testable import HubServer
import XCTest

/// The hub's database work is bounded: with every worker busy and the queue full, REST
/// answers 503 `unavailable` with Retry-After and a WebSocket subscribe an `unavailable`
/// error frame, at once; /metrics shows the loop's longest callback.
final class DatabaseWorkersSaturationTests: XCTestCase {
    func testSaturatedWorkersAnswerUnavailableAtOnce() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        // A hub of its own whose pool has one connection, held by the test: the single
        // worker blocks on checkout until the test lets go.
        let pool = try ConnectionPool(.init(conninfo: h.conninfo, maxConnections: 1, checkoutTimeout: .seconds(120)))
        defer { pool.close() }
        let hub = try HubHarness.startHub(conninfo: h.conninfo, pool: pool, publicDir: h.publicDir, port: 0) {
            $0.databaseWorkers = 1
            $0.databaseQueueLimit = 1
        }
        defer { hub.stop() }
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            _ = try? pool.withConnection { _ in
                held.signal()
                _ = release.wait(timeout: .now() + 120)
            }
        }
        XCTAssertEqual(held.wait(timeout: .now() + 30), .success)

        let probe = HTTPProbe(port: hub.boundPort)
        let auth = [("Authorization", "Bearer \(h.tokenA)")]
        let blocked = DispatchGroup()
        let answers = AnswerLog()
        func sendInBackground() {
            DispatchQueue.global().async(group: blocked) { answers.append(try? probe.send("GET", "/api/v1/settings", headers: auth)) }
        }
        sendInBackground()
        XCTAssertTrue(waitUntil { hub.databaseLoad.busy == 1 }, "\(hub.databaseLoad)")
        sendInBackground()
        XCTAssertTrue(waitUntil { hub.databaseLoad.queued == 1 }, "\(hub.databaseLoad)")

        let refused = try probe.send("GET", "/api/v1/settings", headers: auth)
        XCTAssertEqual(refused.status, 503)
        XCTAssertEqual(refused.errorCode, "unavailable")
        XCTAssertNotNil(refused.headers["retry-after"])

        let client = try SimpleWebSocketClient.connect(port: hub.boundPort, headers: auth, subprotocol: "collection-hub.v1")
        let c = EventCollector(client)
        let topic = "run:\(run.uuidString.lowercased())"
        client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "error").isEmpty })
        let error = try XCTUnwrap(c.messages(ofType: "error").first)
        XCTAssertEqual(error["code"] as? String, "unavailable")
        XCTAssertEqual(error["topic"] as? String, topic)
        XCTAssertGreaterThanOrEqual(hub.databaseLoad.refused, 2)

        // Let go: the two accepted requests are answered normally.
        release.signal()
        XCTAssertEqual(blocked.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(answers.values.map { $0?.status }, [200, 200])
        client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty }, "subscribing works again")
    }

    func testMetricsShowTheLongestLoopCallbackSinceTheLastScrape() throws {
        let h = try HubHarness()
        let probe = HTTPProbe(port: h.port)
        XCTAssertNotNil(try Self.stall(probe.send("GET", "/metrics")))
        // A callback that runs until the test lets go; meanwhile the test does a database
        // round trip and times it: the loop stalled at least that long.
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = h.hub.onLoop(timeout: .seconds(120)) { _ in
                started.signal()
                _ = release.wait(timeout: .now() + 60)
            }
            done.signal()
        }
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
        let clock = ContinuousClock()
        let blockedFor = clock.measure { _ = try? h.pool.query("SELECT 1") }
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let stall = try XCTUnwrap(Self.stall(probe.send("GET", "/metrics")))
        XCTAssertGreaterThanOrEqual(stall, blockedFor.seconds)
    }

    func testStallMeterKeepsTheLongestAndStartsOverWhenTaken() {
        var meter = StallMeter()
        XCTAssertEqual(meter.take(), .zero)
        meter.record(since: StallMeter.now() - 3_000_000_000)
        meter.record(since: StallMeter.now())
        XCTAssertGreaterThanOrEqual(meter.take(), .seconds(3))
        XCTAssertEqual(meter.take(), .zero)
    }

    /// The `hub_loop_stall_seconds_max` sample of a /metrics answer.
    static func stall(_ answer: HTTPProbe.Answer) -> Double? {
        let line = answer.body.split(separator: "\n").first { $0.hasPrefix("hub_loop_stall_seconds_max ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

/// Answers collected by background threads.
// @unchecked Sendable: every access is under the lock.
private final class AnswerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [HTTPProbe.Answer?] = []
    func append(_ answer: HTTPProbe.Answer?) { lock.lock(); storage.append(answer); lock.unlock() }
    var values: [HTTPProbe.Answer?] { lock.lock(); defer { lock.unlock() }; return storage }
}
