import Foundation
import HubClient
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// Issue 12, finding 5: the per-client bound covers everything the hub keeps for a client
/// (queued frames, waves buffered for its replaying subscriptions, held state updates),
/// not each piece separately.
final class SlowClientBoundTests: XCTestCase {
    func testNeverReadingClientReplayingManyRunsIsClosedWhenAllItHoldsPassesItsBound() throws {
        let bound = 1024 * 1024
        let h = try HubHarness { $0.maxQueuedBytesPerClient = bound; HubHarness.neverHangUp(&$0) }
        // Histories of several replay pages each, so no subscription catches up and goes
        // live while the client is not reading: later items are buffered per subscription.
        let runs = try (0..<3).map { _ in try h.makeRun() }
        for run in runs { try h.commitItems(run: run, count: 4000, perTransaction: 500, prefix: "H") }
        let slow = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
        XCTAssertEqual(slow.handshakeStatus, 101)
        for run in runs { slow.sendText("{\"type\":\"subscribe\",\"topic\":\"run:\(run.uuidString.lowercased())\",\"since\":0}") }
        // Live items: well under the bound per subscription, well over it together with
        // the replay pages already queued.
        for run in runs { try h.commitItems(run: run, count: 1000, perTransaction: 100, prefix: "L") }
        XCTAssertTrue(waitUntil(timeout: 120) {
            ((try? httpGet(port: h.port, path: "/metrics")) ?? nil)?.contains("hub_slow_clients_closed_total 1") ?? false
        }, "the client was never closed")
        let metrics = try XCTUnwrap(httpGet(port: h.port, path: "/metrics"))
        let held = metrics.split(separator: "\n").first { $0.hasPrefix("hub_slow_client_bytes_at_close ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        XCTAssertGreaterThan(held, bound, metrics)
        XCTAssertEqual(slow.readUntilClose(timeout: 120), 4008)
    }
}
