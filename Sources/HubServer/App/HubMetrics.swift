import Foundation
import HubStore

/// Counters for /metrics and /healthz. Loop thread writes; readers go through loop.post.
struct HubMetrics {
    var connectionsOpened = 0
    var connectionsOpen = 0
    var subscriptions = 0
    var notificationsReceived = 0
    var eventsReceived = 0
    var eventsSent = 0
    var framesSent = 0
    var bytesQueued = 0
    var slowClientsClosed = 0
    /// Bytes the last slow client held (queued + buffered + held) when it was closed.
    var slowClientBytesAtClose = 0
    var listenReconnects = 0
    /// LISTEN reads that stopped at the turn's drain with more on the socket.
    var listenTurnsLeftWaiting = 0
    var backfills = 0
    /// Subscribers answered by a first read another subscriber asked for (org topics; run
    /// topics count in the core).
    var snapshotsShared = 0
    var runSnapshotsShared = 0
    /// Gaps in a run's items that filled by themselves (no table read).
    var gapsFilled = 0
    var webSocketsRefusedPerToken = 0
    var listenConnected = false
    var lastNotificationAt: ContinuousClock.Instant?
    /// Notify-to-send lag histogram (receive from libpq to frame queued), in milliseconds.
    static let lagBuckets: [Double] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000]
    var lagCounts = [Int](repeating: 0, count: HubMetrics.lagBuckets.count + 1)
    var lagSum = 0.0
    var lagTotal = 0

    mutating func observeLag(_ ms: Double) {
        let i = HubMetrics.lagBuckets.firstIndex { ms <= $0 } ?? HubMetrics.lagBuckets.count
        lagCounts[i] += 1
        lagSum += ms
        lagTotal += 1
    }

    /// Prometheus text format.
    func render(queueUsage: Double?, poolOpen: Int, poolIdle: Int, transport: TransportStats = TransportStats(),
                loopStall: Duration = .zero, databaseLoad: DatabaseWorkers.Load = DatabaseWorkers.Load()) -> String {
        var s = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            s += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        metric("hub_connections", "gauge", "Open WebSocket connections.", "\(connectionsOpen)")
        metric("hub_connections_opened_total", "counter", "WebSocket connections accepted.", "\(connectionsOpened)")
        metric("hub_subscriptions", "gauge", "Active topic subscriptions.", "\(subscriptions)")
        metric("hub_notifications_received_total", "counter", "NOTIFY messages received.", "\(notificationsReceived)")
        metric("hub_events_received_total", "counter", "Events received from PostgreSQL.", "\(eventsReceived)")
        metric("hub_events_sent_total", "counter", "Events queued to clients.", "\(eventsSent)")
        metric("hub_frames_sent_total", "counter", "WebSocket frames queued to clients.", "\(framesSent)")
        metric("hub_bytes_queued_total", "counter", "Bytes queued to clients.", "\(bytesQueued)")
        metric("hub_slow_clients_closed_total", "counter", "Clients closed for not reading.", "\(slowClientsClosed)")
        metric("hub_slow_client_bytes_at_close", "gauge", "Bytes the last slow client held (queued, buffered, held) when closed.", "\(slowClientBytesAtClose)")
        metric("hub_listen_reconnects_total", "counter", "LISTEN connection re-establishments.", "\(listenReconnects)")
        metric("hub_listen_turns_left_waiting_total", "counter",
               "LISTEN reads that stopped at the turn's bound with more on the socket (the hub's intake set the pace).", "\(listenTurnsLeftWaiting)")
        metric("hub_backfills_total", "counter", "Reads of missed items from the tables.", "\(backfills)")
        metric("hub_snapshot_reads_shared_total", "counter", "Subscribers answered by a first read another subscriber asked for.",
               "\(snapshotsShared + runSnapshotsShared)")
        metric("hub_gaps_filled_total", "counter", "Gaps in a run's items filled by the late notification, without a table read.", "\(gapsFilled)")
        metric("hub_listen_connected", "gauge", "1 while the LISTEN connection is up.", listenConnected ? "1" : "0")
        metric("hub_http_held_request_bytes", "gauge", "Body bytes held by unfinished HTTP requests.", "\(transport.heldRequestBytes)")
        metric("hub_http_held_request_bytes_peak", "gauge", "Most body bytes ever held by unfinished HTTP requests.", "\(transport.peakHeldRequestBytes)")
        metric("hub_http_refused_capacity_total", "counter", "Requests answered 503: the held-bytes cap was reached.", "\(transport.requestsRefusedForCapacity)")
        metric("hub_http_request_deadline_expired_total", "counter", "Requests answered 408 at their deadline.", "\(transport.requestDeadlinesExpired)")
        metric("hub_connections_refused_per_address_total", "counter", "Connections answered 429 over the per-address cap.", "\(transport.connectionsRefusedPerAddress)")
        metric("hub_websockets_refused_per_token_total", "counter", "Upgrades answered 429 over the per-token cap.", "\(webSocketsRefusedPerToken)")
        metric("hub_db_pool_connections", "gauge", "Open pooled database connections.", "\(poolOpen)")
        metric("hub_db_pool_idle", "gauge", "Idle pooled database connections.", "\(poolIdle)")
        metric("hub_db_workers_busy", "gauge", "Database workers running a job.", "\(databaseLoad.busy)")
        metric("hub_db_workers_queued", "gauge", "Database jobs waiting for a worker.", "\(databaseLoad.queued)")
        metric("hub_db_workers_refused_total", "counter", "Database jobs refused (answered unavailable): workers busy, queue full.", "\(databaseLoad.refused)")
        metric("hub_loop_stall_seconds_max", "gauge", "Longest single event-loop callback since the previous scrape.", "\(loopStall.seconds)")
        if let queueUsage {
            metric("hub_pg_notification_queue_usage", "gauge", "pg_notification_queue_usage().", "\(queueUsage)")
        }
        s += "# HELP hub_notify_to_send_lag_ms Time from NOTIFY receipt to frames queued.\n# TYPE hub_notify_to_send_lag_ms histogram\n"
        var cumulative = 0
        for (i, bound) in HubMetrics.lagBuckets.enumerated() {
            cumulative += lagCounts[i]
            s += "hub_notify_to_send_lag_ms_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += lagCounts[HubMetrics.lagBuckets.count]
        s += "hub_notify_to_send_lag_ms_bucket{le=\"+Inf\"} \(cumulative)\nhub_notify_to_send_lag_ms_sum \(lagSum)\nhub_notify_to_send_lag_ms_count \(lagTotal)\n"
        return s
    }
}
