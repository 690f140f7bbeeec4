import Foundation

/// One loop's counters at one moment: what /metrics and /healthz add up over the loops.
struct LoopSnapshot: Sendable {
    /// The loop's index in its HubGroup (0 with one loop).
    var loop = 0
    var metrics: HubMetrics
    var transport: TransportStats
    /// The loop's longest callback since the last scrape (taken, so the next scrape starts over).
    var loopStall: Duration = .zero

    /// Connections per loop: how evenly the kernel spreads them (Prometheus text).
    static func perLoopText(_ parts: [LoopSnapshot]) -> String {
        guard parts.count > 1 else { return "" }
        var s = "# HELP hub_loop_connections Open WebSocket connections of one event loop.\n# TYPE hub_loop_connections gauge\n"
        for p in parts.sorted(by: { $0.loop < $1.loop }) { s += "hub_loop_connections{loop=\"\(p.loop)\"} \(p.metrics.connectionsOpen)\n" }
        return s
    }

    /// The process's view: counters and gauges summed, peaks and the last notification the
    /// latest, LISTEN up only when every loop listens (a loop that does not hears nothing).
    static func combined(_ parts: [LoopSnapshot]) -> LoopSnapshot {
        guard var total = parts.first else { return LoopSnapshot(metrics: HubMetrics(), transport: TransportStats()) }
        for p in parts.dropFirst() {
            total.metrics.add(p.metrics)
            total.transport.add(p.transport)
            total.loopStall = max(total.loopStall, p.loopStall)
        }
        return total
    }
}

extension HubMetrics {
    mutating func add(_ o: HubMetrics) {
        connectionsOpened += o.connectionsOpened
        connectionsOpen += o.connectionsOpen
        subscriptions += o.subscriptions
        notificationsReceived += o.notificationsReceived
        eventsReceived += o.eventsReceived
        eventsSent += o.eventsSent
        framesSent += o.framesSent
        bytesQueued += o.bytesQueued
        slowClientsClosed += o.slowClientsClosed
        slowClientBytesAtClose = max(slowClientBytesAtClose, o.slowClientBytesAtClose)
        listenReconnects += o.listenReconnects
        backfills += o.backfills
        snapshotsShared += o.snapshotsShared
        runSnapshotsShared += o.runSnapshotsShared
        gapsFilled += o.gapsFilled
        webSocketsRefusedPerToken += o.webSocketsRefusedPerToken
        listenConnected = listenConnected && o.listenConnected
        lastNotificationAt = [lastNotificationAt, o.lastNotificationAt].compactMap { $0 }.max()
        for i in lagCounts.indices { lagCounts[i] += o.lagCounts[i] }
        lagSum += o.lagSum
        lagTotal += o.lagTotal
    }
}

extension TransportStats {
    mutating func add(_ o: TransportStats) {
        heldRequestBytes += o.heldRequestBytes
        peakHeldRequestBytes += o.peakHeldRequestBytes
        requestsRefusedForCapacity += o.requestsRefusedForCapacity
        requestDeadlinesExpired += o.requestDeadlinesExpired
        connectionsRefusedPerAddress += o.connectionsRefusedPerAddress
    }
}
