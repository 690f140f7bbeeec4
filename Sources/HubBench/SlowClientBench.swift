import ArgumentParser
import Foundation
import HubClient

extension BenchCommand {
    /// Reliability scenario 7: N clients read normally while, in every other phase, a few
    /// clients subscribe and stop reading. Reports the normal clients' latency in phases with
    /// and without stalled clients, whether each stalled client was closed with 4008, and
    /// whether its resume with `since` filled exactly what it missed.
    struct SlowClient: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "slow-client",
                                                        abstract: "Latency of normal clients with and without clients that stop reading.")
        @OptionGroup var target: Target
        @Option(help: "Clients that keep reading.") var clients: Int = 100
        @Option(help: "Clients that stop reading, in every second phase.") var slow: Int = 5
        @Option(help: "Events per phase (enough to fill a stalled client's queue and socket buffers).") var events: Int = 3000
        @Option(help: "Events per second.") var rate: Int = 1000
        @Option(help: "Pairs of phases (without, with stalled clients); more pairs, steadier p99s.") var rounds: Int = 3
        @Option(name: .customLong("payload-bytes"), help: "Title bytes per item.") var payloadBytes: Int = 1024
        @Option(name: .customLong("client-queue-kib"), help: "The started hub's per-client queue bound (serve's default is 4096).")
        var clientQueueKiB: Int = 512

        func validate() throws {
            guard clients > 0, slow > 0, events > 0, rounds > 0 else { throw ValidationError("clients, slow, events and rounds must be > 0") }
        }

        func run() throws {
            let hub = try target.start(engine: false, extraArguments: ["--client-queue-kib", "\(clientQueueKiB)"])
            defer { hub.stop() }
            let warmUp = min(events / 4, 1000)
            let producer = try BenchProducer(conninfo: hub.conninfo, capacity: warmUp + events * rounds * 2, payloadBytes: payloadBytes,
                                             name: "bench slow client")
            let subscribe = "{\"type\":\"subscribe\",\"topic\":\"\(producer.topic)\"}"
            let normal = BenchClients(expectedEvents: producer.capacity, subscribe: subscribe, sendTimes: producer.sendTimes)
            normal.connect(count: clients, port: hub.port, token: hub.token)
            _ = waitUntil(timeout: 120) { normal.snapshot.opened + normal.snapshot.failed >= clients }
            normal.waitSubscribed()
            _ = try phase(producer, normal, count: warmUp)  // first inserts and allocations: measured by neither side
            var baseline: [Float] = [], stalledPhases: [Float] = []
            var stalledResults: [StalledClientResult] = []
            for _ in 0..<rounds {
                baseline += try phase(producer, normal)
                let stalled = try (0..<slow).map { _ in
                    let s = try RawWebSocket(port: hub.port, headers: ["Authorization: Bearer \(hub.token)"], receiveBuffer: 4096)
                    s.sendText(subscribe)
                    // Subscribed before the phase's first event; then it stops reading.
                    guard s.readUntil(timeout: 120, { $0.hasPrefix("{\"type\":\"snapshot\"") }).found else {
                        throw BenchError("a stalled client's subscription was never answered")
                    }
                    return s
                }
                let first = producer.produced + 1
                stalledPhases += try phase(producer, normal)
                stalledResults += stalled.map { StalledClientResult.check($0, topic: producer.topic, from: first, through: producer.produced, hub: hub) }
            }
            normal.stop()
            let expected = normal.opened * producer.produced
            let p99Base = percentile(baseline.sorted(), 0.99), p99Stalled = percentile(stalledPhases.sorted(), 0.99)
            try target.emit([
                "scenario": "slow-client", "clients": clients, "connected": normal.opened, "slow": slow, "events_per_phase": events,
                "rate": rate, "rounds": rounds, "payload_bytes": payloadBytes,
                "missing": expected - normal.delivered, "duplicates": normal.duplicates,
                "p50_ms_without": percentile(baseline.sorted(), 0.5), "p99_ms_without": p99Base,
                "p50_ms_with": percentile(stalledPhases.sorted(), 0.5), "p99_ms_with": p99Stalled,
                "p99_ratio": p99Base > 0 ? p99Stalled / p99Base : 0,
                "stalled": stalledResults.count,
                "stalled_closed_4008": stalledResults.filter { $0.closeCode == 4008 }.count,
                "stalled_close_codes": stalledResults.map { Int($0.closeCode ?? 0) },
                "resume_missing": stalledResults.map(\.missing).reduce(0, +),
                "resume_duplicates": stalledResults.map(\.duplicates).reduce(0, +),
                "slow_clients_closed_metric": BenchREST.metric(port: hub.port, "hub_slow_clients_closed_total") ?? -1,
            ])
        }

        /// Commits one phase of events; returns the normal clients' latencies for it.
        private func phase(_ producer: BenchProducer, _ normal: BenchClients, count: Int? = nil) throws -> [Float] {
            let first = producer.produced + 1
            try producer.produce(count ?? events, rate: rate)
            normal.waitForDelivery(normal.snapshot.opened * producer.produced, idle: 60)
            return normal.latencies(seqs: first...producer.produced)
        }
    }
}

/// What a client that stopped reading finds when it reads again, and what its resume brings.
struct StalledClientResult {
    var closeCode: UInt16?
    /// Events of the phase it got neither before the close nor on resume.
    var missing: Int
    /// Events it got twice.
    var duplicates: Int

    /// Reads what `client` was sent (events `first...last` live, then a close), then resumes
    /// with `since` = the last event it holds without a gap, as a reconnecting client would.
    static func check(_ client: RawWebSocket, topic: String, from first: Int, through last: Int, hub: BenchHubProcess) -> StalledClientResult {
        // Everything queued for it, then the close (a client never closed shows as no code).
        let before = client.readTexts(timeout: 120, idle: 30)
        var counts = [Int](repeating: 0, count: last + 1)
        func tally(_ texts: [String]) {
            for text in texts { BenchClients.forEachItemSeq(Array(text.utf8)) { if $0 >= first && $0 <= last { counts[$0] += 1 } } }
        }
        tally(before.texts)
        var since = first - 1
        while since < last && counts[since + 1] > 0 { since += 1 }
        if since < last, let again = try? RawWebSocket(port: hub.port, headers: ["Authorization: Bearer \(hub.token)"]) {
            again.sendText("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":\(since)}")
            // Until the phase's last event is in: a resume is complete when it reaches it.
            _ = again.readUntil(timeout: 120) { text in
                tally([text])
                return counts[last] > 0
            }
            again.vanish()
        }
        let seqs = counts[first...last]
        return StalledClientResult(closeCode: before.closeCode, missing: seqs.filter { $0 == 0 }.count,
                                   duplicates: seqs.map { max(0, $0 - 1) }.reduce(0, +))
    }
}
