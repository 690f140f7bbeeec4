import ArgumentParser
import Foundation
import HubStore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `collection-hub bench fanout|connections|engine|mass-disconnect|slow-client`: measurements through the real path
/// (commit → NOTIFY → hub → WebSocket clients). Build with `-c release`.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure the hub and the engine (release builds).",
                                                    subcommands: [Fanout.self, Connections.self, EngineBench.self, MassDisconnect.self, SlowClient.self,
                                                                  HoldClientsCommand.self])

    public init() {}

    /// Where the hub under test is: started here (default) or an existing one.
    struct Target: ParsableArguments {
        @Option(help: "An existing hub (ws://127.0.0.1:PORT/ws); default: start one.") var url: String?
        @Option(help: "With --url: a token with admin.automation.") var token: String?
        @Option(name: .customLong("database-url"), help: "With --url: the hub's database.") var databaseURL: String?
        @Option(name: .customLong("hub-pid"), help: "With --url: the hub's pid, for CPU and memory.") var hubPID: Int32?
        @Option(help: "Append the result as one JSON line to this file.") var jsonl: String?

        func start(engine: Bool, extraArguments: [String] = []) throws -> BenchHubProcess {
            ProcessStats.raiseFileLimit()
            if let url {
                guard let token, let databaseURL else { throw ValidationError("--url needs --token and --database-url") }
                return try BenchHubProcess(url: url, token: token, conninfo: databaseURL, pid: hubPID)
            }
            return try BenchHubProcess(engine: engine, extraArguments: extraArguments)
        }

        func emit(_ result: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            if let jsonl {
                let line = data + Data("\n".utf8)
                if let h = FileHandle(forWritingAtPath: jsonl) { h.seekToEndOfFile(); h.write(line); h.closeFile() } else {
                    _ = FileManager.default.createFile(atPath: jsonl, contents: line)
                }
            }
        }
    }

    struct Fanout: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N subscribed clients; M items committed at R events/s.")
        @OptionGroup var target: Target
        @Option(help: "Clients subscribed to the run.") var clients: Int = 100
        @Option(help: "Items to commit.") var events: Int = 5000
        @Option(help: "Events per second (0 = as fast as possible).") var rate: Int = 1000
        @Option(help: "Items per transaction.") var batch: Int = 1
        @Option(help: "Give up waiting for delivery after this many seconds of silence.") var idle: Double = 5

        func run() throws {
            let hub = try target.start(engine: false)
            defer { hub.stop() }
            let producer = try BenchProducer(conninfo: hub.conninfo, capacity: events, name: "bench fanout")
            let group = BenchClients(expectedEvents: events, subscribe: "{\"type\":\"subscribe\",\"topic\":\"\(producer.topic)\"}",
                                     sendTimes: producer.sendTimes)
            let connectStart = Date()
            group.connect(count: clients, port: hub.port, token: hub.token)
            let ready = waitUntil(timeout: 120) { group.snapshot.opened + group.snapshot.failed >= clients }
            Thread.sleep(forTimeInterval: 0.5)  // snapshots answered
            let connectSeconds = Date().timeIntervalSince(connectStart)
            let cpuBefore = hub.pid.flatMap(ProcessStats.cpuSeconds)
            let started = DispatchTime.now().uptimeNanoseconds
            let producerSeconds = try producer.produce(events, rate: rate, batch: batch)
            let expected = group.snapshot.opened * events
            group.waitForDelivery(expected, idle: idle)
            let cpuAfter = hub.pid.flatMap(ProcessStats.cpuSeconds)
            group.stop()
            let sorted = group.latenciesMS.sorted()
            let span = Double(group.lastReceive - started) / 1e9
            var result: [String: Any] = [
                "scenario": "fanout", "clients": clients, "connected": group.opened, "conn_failed": group.failed,
                "events": events, "rate": rate, "batch": batch, "ready": ready,
                "expected": expected, "delivered": group.delivered, "missing": expected - group.delivered,
                "duplicates": group.duplicates, "frames": group.frames,
                "p50_ms": percentile(sorted, 0.5), "p99_ms": percentile(sorted, 0.99), "max_ms": Double(sorted.last ?? 0),
                "events_per_s": span > 0 ? Double(group.delivered) / span : 0, "frames_per_s": span > 0 ? Double(group.frames) / span : 0,
                "producer_rate": Double(events) / producerSeconds, "connect_s": connectSeconds,
            ]
            if let a = cpuBefore, let b = cpuAfter, group.delivered > 0 {
                result["hub_cpu_s"] = b - a
                result["hub_cpu_us_per_event"] = (b - a) * 1e6 / Double(group.delivered)
            }
            if let pid = hub.pid { result["hub_rss_mb"] = ProcessStats.memoryMB(pid, "VmHWM") ?? 0 }
            try target.emit(result)
        }
    }

    struct Connections: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "N connections held S seconds; connect rate and hub memory.")
        @OptionGroup var target: Target
        @Option(help: "Connections.") var clients: Int = 1000
        @Option(help: "Seconds to hold them.") var hold: Double = 10

        func run() throws {
            let hub = try target.start(engine: false)
            defer { hub.stop() }
            let idleRSS = hub.pid.flatMap { ProcessStats.memoryMB($0, "VmRSS") }
            let idleAnon = hub.pid.flatMap { ProcessStats.memoryMB($0, "RssAnon") }
            let sendTimes = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
            defer { sendTimes.deallocate() }
            let group = BenchClients(expectedEvents: 0, subscribe: "{\"type\":\"subscribe\",\"topic\":\"org\"}", sendTimes: sendTimes)
            let start = Date()
            group.connect(count: clients, port: hub.port, token: hub.token)
            _ = waitUntil(timeout: 300) { group.snapshot.opened + group.snapshot.failed >= clients }
            let connectSeconds = Date().timeIntervalSince(start)
            group.waitSubscribed(timeout: 300)
            Thread.sleep(forTimeInterval: hold)
            let snap = group.snapshot
            var result: [String: Any] = ["scenario": "connections", "clients": clients, "connected": snap.opened, "conn_failed": snap.failed,
                                         "open_at_end": snap.opened - snap.closed, "subscribed": snap.subscribed,
                                         "hub_connections": BenchREST.metric(port: hub.port, "hub_connections") ?? -1, "connect_s": connectSeconds,
                                         "connects_per_s": Double(snap.opened) / max(connectSeconds, 0.001), "hold_s": hold]
            if let pid = hub.pid {
                let rss = ProcessStats.memoryMB(pid, "VmRSS") ?? 0
                result["hub_rss_mb"] = rss
                result["hub_rss_peak_mb"] = ProcessStats.memoryMB(pid, "VmHWM") ?? 0
                // RSS also counts the clean, shared code pages of the Swift runtime, Foundation
                // and the C libraries; RssAnon is the memory the hub itself allocated.
                result["hub_rss_anon_mb"] = ProcessStats.memoryMB(pid, "RssAnon") ?? 0
                result["hub_rss_file_mb"] = ProcessStats.memoryMB(pid, "RssFile") ?? 0
                if let idleRSS { result["hub_rss_idle_mb"] = idleRSS; result["hub_kb_per_conn"] = (rss - idleRSS) * 1024 / Double(max(1, snap.opened)) }
                if let idleAnon { result["hub_rss_anon_idle_mb"] = idleAnon }
            }
            group.stop()
            try target.emit(result)
        }
    }
}

/// Minimal HTTP calls for the benchmarks.
enum BenchREST {
    static func createRun(port: Int, token: String, categories: [String]) throws -> String {
        let body = try JSONSerialization.data(withJSONObject: ["category_ids": categories, "name": "bench"])
        guard let data = request("POST", port: port, path: "/api/v1/runs", token: token, body: body),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any], let id = object["id"] as? String else {
            throw BenchError("could not create the bench run")
        }
        return id
    }

    /// One sample from the hub's /metrics (e.g. `hub_connections`).
    static func metric(port: Int, _ name: String) -> Double? {
        guard let data = request("GET", port: port, path: "/metrics") else { return nil }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// The response body, or nil on any failure or after 30 s.
    static func request(_ method: String, port: Int, path: String, token: String? = nil, body: Data? = nil) -> Data? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 30
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let box = ResultBox()
        URLSession.shared.dataTask(with: request) { data, _, _ in
            box.data = data
            done.signal()
        }.resume()
        return done.wait(timeout: .now() + 30) == .success ? box.data : nil
    }

    // @unchecked Sendable: written once by the URLSession callback before the semaphore is signalled, read after the wait.
    final class ResultBox: @unchecked Sendable { var data: Data? }
}

/// Polls `condition` every 20 ms for at most `timeout` seconds.
func waitUntil(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        Thread.sleep(forTimeInterval: 0.02)
    }
    return condition()
}
