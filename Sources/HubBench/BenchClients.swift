import Foundation
import HubClient

/// Many WebSocket clients in one libwebsockets client loop, each subscribed to one run,
/// counting the item events they receive (by seq) and their commit→receive latency.
// @unchecked Sendable: counters are guarded by `lock`; handler callbacks run on the client loop thread.
final class BenchClients: WebSocketClientHandler, @unchecked Sendable {
    private let loop = WebSocketClientLoop(config: WebSocketClientConfig(rxBufferBytes: 65536, connectTimeoutSeconds: 30))
    private let lock = NSLock()
    private let expected: Int
    private let sendTimes: UnsafeMutablePointer<UInt64>
    // Loop thread only (handlers run there); read after the run under `lock`.
    private var received: [ObjectIdentifier: [Bool]] = [:]
    private var connections: [ClientConnection] = []
    private var subscribe: [UInt8]
    private(set) var opened = 0
    /// Connections whose subscription was answered (their snapshot arrived).
    private(set) var subscribed = 0
    private var answered: Set<ObjectIdentifier> = []
    private(set) var failed = 0
    private(set) var closed = 0
    private(set) var delivered = 0
    private(set) var duplicates = 0
    private(set) var frames = 0
    private(set) var latenciesMS: [Float] = []
    /// The seq each entry of `latenciesMS` belongs to.
    private var latencySeqs: [Int32] = []
    private(set) var firstReceive: UInt64 = 0
    private(set) var lastReceive: UInt64 = 0

    /// `sendTimes[seq]` is the monotonic ns at which the producer sent that item.
    init(expectedEvents: Int, subscribe: String, sendTimes: UnsafeMutablePointer<UInt64>) {
        expected = expectedEvents
        self.subscribe = Array(subscribe.utf8)
        self.sendTimes = sendTimes
    }

    func connect(count: Int, port: Int, token: String, rate: Int = 500) {
        for i in 0..<count {
            let c = loop.connect(host: "127.0.0.1", port: port, path: "/ws", headers: [("Authorization", "Bearer \(token)")],
                                 subprotocol: "collection-hub.v1", handler: self)
            lock.withLock { connections.append(c) }
            // Pace the handshakes: a burst of thousands overflows the listen backlog.
            if rate > 0 && i % rate == rate - 1 { Thread.sleep(forTimeInterval: 0.2) }
        }
    }

    var snapshot: (opened: Int, failed: Int, closed: Int, delivered: Int, subscribed: Int) {
        lock.withLock { (opened, failed, closed, delivered, subscribed) }
    }

    /// Waits (at most `timeout`) until every opened connection's subscription was answered:
    /// events committed after that reach each of them live.
    @discardableResult
    func waitSubscribed(timeout: TimeInterval = 120) -> Bool {
        waitUntil(timeout: timeout) { let s = snapshot; return s.subscribed >= s.opened }
    }

    func onOpen(_ connection: ClientConnection) {
        lock.withLock {
            opened += 1
            received[ObjectIdentifier(connection)] = [Bool](repeating: false, count: expected + 2)
        }
        connection.sendText(subscribe)
    }

    func onText(_ connection: ClientConnection, _ bytes: [UInt8]) {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.withLock {
            frames += 1
            let id = ObjectIdentifier(connection)
            if !answered.contains(id), BenchClients.isSnapshot(bytes) {
                answered.insert(id)
                subscribed += 1
            }
            guard var seen = received[id] else { return }
            BenchClients.forEachItemSeq(bytes) { seq in
                guard seq >= 1 && seq <= expected else { return }
                if seen[seq] { duplicates += 1; return }
                seen[seq] = true
                delivered += 1
                let sent = sendTimes[seq]
                if sent > 0 && now > sent {
                    latenciesMS.append(Float(now - sent) / 1_000_000)
                    latencySeqs.append(Int32(seq))
                }
            }
            received[ObjectIdentifier(connection)] = seen
            if firstReceive == 0 { firstReceive = now }
            lastReceive = now
        }
    }

    /// Sorted latencies of the events whose seq is in `seqs`.
    func latencies(seqs: ClosedRange<Int>) -> [Float] {
        lock.withLock { zip(latencySeqs, latenciesMS).filter { seqs.contains(Int($0.0)) }.map(\.1) }.sorted()
    }

    /// Waits until `count` events arrived, or none arrived for `idle` seconds; true if all did.
    @discardableResult
    func waitForDelivery(_ count: Int, idle: TimeInterval, limit: TimeInterval = 600) -> Bool {
        var last = snapshot.delivered, lastChange = Date()
        let deadline = Date().addingTimeInterval(limit)
        while snapshot.delivered < count && Date().timeIntervalSince(lastChange) < idle && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            if snapshot.delivered != last { last = snapshot.delivered; lastChange = Date() }
        }
        return snapshot.delivered >= count
    }

    func onClose(_ connection: ClientConnection, code: UInt16) { lock.withLock { closed += 1 } }

    func onConnectError(_ connection: ClientConnection, message: String, httpStatus: Int?) { lock.withLock { failed += 1 } }

    func stop() {
        let all = lock.withLock { connections }
        for c in all { c.close() }
        // Let the close handshakes finish (bounded: a peer that never answers is cut anyway).
        _ = waitUntil(timeout: 10) { let s = snapshot; return s.closed + s.failed >= all.count }
        loop.stop()
    }

    /// A frame that answers a subscription: `{"type":"snapshot",…}` at its start.
    static func isSnapshot(_ bytes: [UInt8]) -> Bool {
        let key = Array("\"type\":\"snapshot\"".utf8)
        let head = bytes.prefix(64)
        guard head.count >= key.count else { return false }
        return (0...(head.count - key.count)).contains { i in key.indices.allSatisfy { head[head.startIndex + i + $0] == key[$0] } }
    }

    /// Calls `body` with the seq of every item and seller event in a frame, by scanning
    /// for `"type":"item"` / `"type":"seller"` and the `"seq":N` after it (no JSON parse).
    static func forEachItemSeq(_ bytes: [UInt8], _ body: (Int) -> Void) {
        let typeKey = Array("\"type\":\"".utf8), seqKey = Array("\"seq\":".utf8)
        let item = Array("item\"".utf8), seller = Array("seller\"".utf8)
        func matches(_ pattern: [UInt8], at i: Int) -> Bool {
            i + pattern.count <= bytes.count && (0..<pattern.count).allSatisfy { bytes[i + $0] == pattern[$0] }
        }
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "\""), matches(typeKey, at: i) else { i += 1; continue }
            i += typeKey.count
            guard matches(item, at: i) || matches(seller, at: i) else { continue }
            while i < bytes.count && !matches(seqKey, at: i) { i += 1 }
            i += seqKey.count
            var v = 0
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 { v = v * 10 + Int(bytes[i] - 48); i += 1 }
            body(v)
        }
    }
}

/// Percentiles of a sample.
func percentile(_ sorted: [Float], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))])
}
