import Foundation
import HubClient
import HubServer
import HubStore
import HubTestSupport
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
        let h = try HubHarness { $0.maxQueuedBytesPerClient = 64 * 1024; HubHarness.neverHangUp(&$0) }
        let run = try h.makeRun()
        let topic = "run:\(run.uuidString.lowercased())"
        // Stops reading after the handshake, with a tiny receive buffer.
        let slow = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
        XCTAssertEqual(slow.handshakeStatus, 101)
        slow.sendText("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(slow.readUntil { $0.contains("snapshot") }.found, "no snapshot")
        let fast = EventCollector(try h.connect(token: h.tokenA))
        fast.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
        XCTAssertTrue(fast.read { !$0.messages(ofType: "snapshot").isEmpty })
        // ~14 MB of events: more than the kernel's socket buffers hold for the slow client.
        try h.commitItems(run: run, count: 40_000, perTransaction: 50, titlePadding: 110)
        XCTAssertTrue(fast.read(timeout: 300) { $0.itemSeqs.count >= 40_000 }, "the fast client fell behind: \(fast.itemSeqs.count)")
        XCTAssertEqual(fast.itemSeqs, Array(1...40_000))
        let metrics = try XCTUnwrap(httpGet(port: h.port, path: "/metrics"))
        XCTAssertTrue(metrics.contains("hub_slow_clients_closed_total 1"), metrics)
        // What the slow client finds when it finally reads: a close with the documented code.
        XCTAssertEqual(slow.readUntilClose(timeout: 120), 4008)
    }

    func testStateUpdatesToABackedUpClientAreCoalesced() throws {
        let h = try HubHarness { $0.maxQueuedBytesPerClient = 64 * 1024; HubHarness.neverHangUp(&$0) }
        let run = try h.makeRun()
        let slow = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"], receiveBuffer: 4096)
        slow.sendText("{\"type\":\"subscribe\",\"topic\":\"org\"}")
        XCTAssertTrue(slow.readUntil { $0.contains("snapshot") }.found, "no snapshot")
        // ~1 KB per event, 4000 commits: more than the loopback socket buffers hold.
        try h.pool.query("UPDATE collection_runs SET name = repeat('n', 200), current_category = repeat('c', 120) WHERE id = $1", [run])
        let updates = 4000
        for i in 1...updates {
            try h.pool.query("UPDATE collection_runs SET processed_items = $2 WHERE id = $1", [run, i])
        }
        // Read until the latest state, however long the backlog takes to drain.
        let (texts, found, closeCode) = slow.readUntil(timeout: 120) { text in
            let events = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [[String: Any]] ?? []
            return events.contains { $0["type"] as? String == "run" && $0["processed_items"] as? Int == updates }
        }
        XCTAssertNil(closeCode, "a client behind on state updates only must not be closed")
        XCTAssertTrue(found, "the latest state never arrived")
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
        // Vanish mid-stream: once the first events are flowing, not after a guessed pause.
        XCTAssertTrue(survivors[0].read { $0.itemSeqs.count >= 20 })
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

/// The network fuzz test of scenario 8: malformed handshakes, random bytes, oversized and
/// fragmented frames, invalid UTF-8 and slow headers; zero crashes, and a normal client is
/// served afterwards.
final class NetworkFuzzTests: XCTestCase {
    func testMalformedTrafficNeverTakesTheHubDown() throws {
        let h = try HubHarness()
        var rng = SystemRandomNumberGenerator()
        for round in 0..<120 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(h.port).bigEndian)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            var bytes: [UInt8]
            switch round % 6 {
            case 0: bytes = (0..<Int.random(in: 1...4096, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1: bytes = Array("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n".utf8)
            case 2: bytes = Array("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: !!\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer \(h.tokenA)\r\n\r\n".utf8)
            case 3: bytes = Array("POST /api/v1/runs HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n{".utf8)
            case 4: bytes = Array("GET /\(String(repeating: "%", count: 3000)) HTTP/1.1\r\n\r\n".utf8)
            default: bytes = Array("GET / HTTP/1.1\r\nHost: slow".utf8)  // and never finish the headers
            }
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if round % 6 != 5 { close(fd) } else { DispatchQueue.global().asyncAfter(deadline: .now() + 2) { close(fd) } }
        }
        // Upgraded sessions sending random frames: oversized, fragmented, bad UTF-8, random opcodes.
        for round in 0..<40 {
            let raw = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
            switch round % 4 {
            case 0: raw.sendFrame((0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
            case 1: raw.sendFrame(Array("{\"type\":".utf8), fin: false); raw.sendFrame([0xC3, 0x28], opcode: 0, fin: true)
            case 2: raw.sendFrame([UInt8](repeating: 0x7B, count: 70_000), opcode: 1, fin: false)
            default: raw.sendFrame([1, 2, 3], opcode: UInt8.random(in: 3...7, using: &rng))
            }
            raw.vanish()
        }
        let ok = EventCollector(try h.connect(token: h.tokenA))
        ok.client.send("{\"type\":\"ping\",\"id\":\"after-fuzz\"}")
        XCTAssertTrue(ok.read { !$0.messages(ofType: "pong").isEmpty }, "the hub stopped serving after the fuzzing")
        XCTAssertTrue(try XCTUnwrap(httpGet(port: h.port, path: "/healthz")).contains("\"status\":\"ok\""))
    }
}
