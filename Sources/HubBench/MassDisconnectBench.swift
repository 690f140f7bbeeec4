import ArgumentParser
import Foundation

extension BenchCommand {
    /// Reliability scenario 6: N subscribed clients; the clients of a child process are killed
    /// with SIGKILL halfway through a stream of events. The survivors and clients joining
    /// afterwards (with `since=0`) must get every event exactly once, and the hub's memory,
    /// once everyone has left, must come back to where it was. Repeated `cycles` times, so a
    /// leak shows as growth from cycle to cycle.
    struct MassDisconnect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mass-disconnect",
                                                        abstract: "Kill half of N subscribed clients mid-stream; check delivery and hub memory.")
        @OptionGroup var target: Target
        @Option(help: "Subscribed clients.") var clients: Int = 500
        @Option(help: "Of those, clients in a child process killed with SIGKILL halfway.") var kill: Int = 250
        @Option(help: "Clients joining with since=0 after the kill.") var late: Int = 50
        @Option(help: "Events per cycle.") var events: Int = 2000
        @Option(help: "Events per second.") var rate: Int = 1000
        @Option(help: "Connect, kill, drain, disconnect: this many times.") var cycles: Int = 3
        @Option(help: "Seconds to let the hub settle before reading its memory (it returns freed heap every 2 s).") var settle: Double = 3

        func validate() throws {
            guard clients > 0, (0...clients).contains(kill), late >= 0, events > 1, cycles > 0 else {
                throw ValidationError("need clients > 0, 0 <= kill <= clients, events > 1, cycles > 0")
            }
        }

        func run() throws {
            let hub = try target.start(engine: false)
            defer { hub.stop() }
            guard let pid = hub.pid else { throw ValidationError("memory is read from the hub's process: pass --hub-pid with --url") }
            func rss() -> Double { ProcessStats.memoryMB(pid, "VmRSS") ?? 0 }
            func connections() -> Int { Int(BenchREST.metric(port: hub.port, "hub_connections") ?? -1) }
            Thread.sleep(forTimeInterval: settle)
            let idle = rss()
            var cycleResults: [[String: Any]] = []
            var missing = 0, duplicates = 0
            for cycle in 1...cycles {
                let before = rss()
                let producer = try BenchProducer(conninfo: hub.conninfo, capacity: events, name: "mass disconnect \(cycle)")
                let subscribe = "{\"type\":\"subscribe\",\"topic\":\"\(producer.topic)\"}"
                let survivors = BenchClients(expectedEvents: events, subscribe: subscribe, sendTimes: producer.sendTimes)
                survivors.connect(count: clients - kill, port: hub.port, token: hub.token)
                let victims = try HeldClientsProcess(port: hub.port, token: hub.token, topic: producer.topic, count: kill)
                _ = waitUntil(timeout: 120) { survivors.snapshot.opened + survivors.snapshot.failed >= clients - kill }
                survivors.waitSubscribed()  // the victims' process reports only once subscribed
                let connected = rss()
                let openBefore = connections()
                try producer.produce(events / 2, rate: rate)
                victims.kill()
                try producer.produce(events - events / 2, rate: rate)
                let lateClients = BenchClients(expectedEvents: events, subscribe: "{\"type\":\"subscribe\",\"topic\":\"\(producer.topic)\",\"since\":0}",
                                               sendTimes: producer.sendTimes)
                lateClients.connect(count: late, port: hub.port, token: hub.token)
                _ = waitUntil(timeout: 60) { lateClients.snapshot.opened + lateClients.snapshot.failed >= late }
                survivors.waitForDelivery(survivors.snapshot.opened * events, idle: 60)
                lateClients.waitForDelivery(lateClients.snapshot.opened * events, idle: 60)
                // The kernel resets the killed process's sockets; the hub sees it when it sees it.
                let stillOpen = survivors.opened + lateClients.opened
                _ = waitUntil(timeout: 60) { connections() == stillOpen }
                let openAfterKill = connections()
                survivors.stop()
                lateClients.stop()
                let drained = waitUntil(timeout: 30) { connections() == 0 }
                Thread.sleep(forTimeInterval: settle)
                let after = rss()
                let lost = (survivors.opened * events - survivors.delivered) + (lateClients.opened * events - lateClients.delivered)
                missing += lost
                duplicates += survivors.duplicates + lateClients.duplicates
                cycleResults.append([
                    "cycle": cycle, "survivors": survivors.opened, "killed": victims.opened, "late": lateClients.opened,
                    "conn_failed": survivors.failed + lateClients.failed,
                    "open_before_kill": openBefore, "open_after_kill": openAfterKill, "all_closed": drained,
                    "missing": lost, "duplicates": survivors.duplicates + lateClients.duplicates,
                    "rss_before_mb": before, "rss_connected_mb": connected, "rss_after_mb": after,
                ])
            }
            let afters = cycleResults.compactMap { $0["rss_after_mb"] as? Double }
            try target.emit([
                "scenario": "mass-disconnect", "clients": clients, "kill": kill, "late": late, "events": events, "rate": rate,
                "missing": missing, "duplicates": duplicates, "rss_idle_mb": idle,
                "rss_after_first_mb": afters.first ?? 0, "rss_after_last_mb": afters.last ?? 0,
                "rss_peak_mb": ProcessStats.memoryMB(pid, "VmHWM") ?? 0, "cycles": cycleResults,
            ])
        }
    }
}
