import Foundation
import HubServer
import HubStore
import XCTest

final class HubRobustnessTests: XCTestCase {
    func testResumeWithSinceAcrossHubRestartIsExact() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let topic = "run:\(run.uuidString.lowercased())"
        var c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty })
        try h.commitItems(run: run, count: 40, perTransaction: 3, prefix: "A")
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 40 })
        let seen = c.itemSeqs
        try h.restartHub()
        // Written while no hub was listening at all.
        try h.commitItems(run: run, count: 25, perTransaction: 5, prefix: "B")
        c = EventCollector(try h.connect(token: h.tokenA))
        c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":\(seen.last!)}")
        try h.commitItems(run: run, count: 10, prefix: "C")
        XCTAssertTrue(c.read { $0.itemSeqs.count >= 35 }, "got \(c.itemSeqs.count)")
        XCTAssertEqual(seen + c.itemSeqs, Array(1...75))
    }

    func testSlowConsumerIsClosedAndOthersKeepUp() throws {
        let h = try HubHarness { $0.maxQueuedBytesPerClient = 64 * 1024 }
        let run = try h.makeRun()
        let topic = "run:\(run.uuidString.lowercased())"
        // Stops reading after the handshake, with a tiny receive buffer.
        let slow = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
        XCTAssertEqual(slow.handshakeStatus, 101)
        slow.sendText("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        let fast = EventCollector(try h.connect(token: h.tokenA))
        fast.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(fast.read { !$0.messages(ofType: "snapshot").isEmpty })
        // ~14 MB of events: more than the kernel's socket buffers hold for the slow client.
        try h.commitItems(run: run, count: 40_000, perTransaction: 50, titlePadding: 110)
        XCTAssertTrue(fast.read(timeout: 60) { $0.itemSeqs.count >= 40_000 }, "the fast client fell behind: \(fast.itemSeqs.count)")
        XCTAssertEqual(fast.itemSeqs, Array(1...40_000))
        let metrics = try XCTUnwrap(httpGet(port: h.port, path: "/metrics"))
        XCTAssertTrue(metrics.contains("hub_slow_clients_closed_total 1"), metrics)
        // What the slow client finds when it finally reads: a close with the documented code.
        XCTAssertEqual(slow.readUntilClose(timeout: 20), 4008)
    }

    func testStateUpdatesToABackedUpClientAreCoalesced() throws {
        let h = try HubHarness { $0.maxQueuedBytesPerClient = 64 * 1024 }
        let run = try h.makeRun()
        let slow = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
        slow.sendText("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        Thread.sleep(forTimeInterval: 0.3)
        // ~1 KB per event, 9000 commits: more than the loopback socket buffers hold.
        try h.pool.query("UPDATE collection_runs SET name = repeat('n', 200), current_category = repeat('c', 120) WHERE id = $1", [run])
        let updates = 9000
        for i in 1...updates {
            try h.pool.query("UPDATE collection_runs SET processed_items = $2 WHERE id = $1", [run, i])
        }
        let (texts, closeCode) = slow.readTexts(timeout: 30, idle: 1.5)
        XCTAssertNil(closeCode, "a client behind on state updates only must not be closed")
        var processed: [Int] = []
        for text in texts {
            guard let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else { continue }
            for event in array where event["type"] as? String == "run" { processed.append(event["processed_items"] as? Int ?? -1) }
        }
        XCTAssertEqual(processed.last, updates, "the latest state must arrive")
        XCTAssertLessThan(processed.count, updates, "nothing was coalesced")
        XCTAssertEqual(processed, processed.sorted(), "states arrived out of order")
    }

    func testMalformedInputNeverCrashesTheHub() throws {
        let h = try HubHarness()
        // Over 64 KiB → 1009.
        let big = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
        big.sendFrame([UInt8](repeating: 0x61, count: 70_000))
        XCTAssertEqual(big.readUntilClose(), 1009)
        // Invalid UTF-8 → 1007.
        let utf = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
        utf.sendFrame([0x7B, 0xFF, 0xFE, 0x7D])
        XCTAssertEqual(utf.readUntilClose(), 1007)
        // A subscribe flood → rate limited, 1008.
        let flood = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
        for _ in 0..<200 { flood.sendText("{\"type\":\"subscribe\",\"topic\":\"org\"}") }
        XCTAssertEqual(flood.readUntilClose(), 1008)
        // A fragmented message is reassembled, not rejected.
        let frag = EventCollector(try h.connect(token: h.tokenA))
        frag.client.sendFragmentedText([Array("{\"type\":\"pi".utf8), Array("ng\",\"id\":\"f\"}".utf8)])
        XCTAssertTrue(frag.read { !$0.messages(ofType: "pong").isEmpty })
        // Garbage instead of a handshake, and an HTTP body over 1 MB.
        let junk = try RawWebSocket(port: h.port, headers: ["X: \(String(repeating: "y", count: 9000))"])
        XCTAssertNotEqual(junk.handshakeStatus, 101)
        let huge = try XCTUnwrap(http(port: h.port, method: "POST", path: "/api/v1/runs", headers: ["Authorization: Bearer \(h.tokenA)"],
                                      body: String(repeating: "x", count: 1_100_000)))
        XCTAssertEqual(huge.status, 413)
        // Still serving a normal client.
        let ok = EventCollector(try h.connect(token: h.tokenA))
        ok.client.send("{\"type\":\"ping\"}")
        XCTAssertTrue(ok.read { !$0.messages(ofType: "pong").isEmpty })
    }

    func testClientsVanishingMidStreamDoNotStallOthers() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let topic = "run:\(run.uuidString.lowercased())"
        let doomed = try (0..<150).map { _ -> RawWebSocket in
            let r = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
            r.sendText("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
            return r
        }
        let survivors = try (0..<20).map { _ -> EventCollector in
            let c = EventCollector(try h.connect(token: h.tokenA))
            c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
            return c
        }
        for s in survivors { XCTAssertTrue(s.read { !$0.messages(ofType: "snapshot").isEmpty }) }
        let writer = Thread { try? h.commitItems(run: run, count: 600, perTransaction: 2) }
        writer.start()
        Thread.sleep(forTimeInterval: 0.1)
        for d in doomed { d.vanish() }
        for s in survivors {
            XCTAssertTrue(s.read(timeout: 30) { $0.itemSeqs.count >= 600 }, "a survivor stalled at \(s.itemSeqs.count)")
            XCTAssertEqual(s.itemSeqs, Array(1...600))
        }
        let late = EventCollector(try h.connect(token: h.tokenA))
        late.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":0}")
        XCTAssertTrue(late.read { $0.itemSeqs.count >= 600 })
        XCTAssertEqual(late.itemSeqs, Array(1...600))
        XCTAssertTrue(waitUntil { (try? httpGet(port: h.port, path: "/metrics"))??.contains("hub_connections 21") ?? false },
                      "vanished clients were not cleaned up")
    }
}
