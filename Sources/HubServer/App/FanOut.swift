import Foundation
import HubCore
import HubStore
import Logging

/// Turns NOTIFY payloads into frames for subscribed clients: the shell around `FanOutCore`,
/// which decides; this performs (queues frames, reads tables off the loop, sets timers,
/// closes slow clients). Loop thread only, except the table reads (`FanOut+Reads.swift`).
// @unchecked Sendable: loop thread only; database reads run on workers and post their results back.
final class FanOut: @unchecked Sendable {
    let config: HubConfig
    let pool: ConnectionPool
    /// Where table reads run: bounded workers sized to the pool.
    let db: DatabaseWorkers
    let events: EventRepository
    let logger: Logger
    weak var loop: HubLoop?
    var metrics = HubMetrics()
    /// Run topics, client cursors and queues, as values.
    var core: FanOutCore
    /// Clients that subscribed to something, by the core's id.
    var clients = ClientTable<ClientState>()
    var orgTopics: [String: OrgTopic] = [:]
    private var dirtyOrgs: [OrgTopic] = []
    private var orgSubscriptions = 0
    /// What each client's socket still has queued, asked by the core when it decides.
    private(set) lazy var depth: QueueDepth = { [unowned self] in self.clients[$0]?.session.queuedBytes ?? 0 }

    let maxSubscriptionsPerClient = 100

    init(config: HubConfig, pool: ConnectionPool, db: DatabaseWorkers, logger: Logger) {
        self.config = config
        self.pool = pool
        self.db = db
        self.events = EventRepository(pool: pool)
        self.logger = logger
        self.core = FanOutCore(limits: FeedLimits(snapshotItems: config.snapshotItems, maxQueuedBytesPerClient: config.maxQueuedBytesPerClient))
    }

    /// The LISTEN connection went down or came up: topics re-read what they may have missed.
    func listenChanged(connected: Bool) {
        metrics.listenConnected = connected
        perform(core.listenChanged(connected: connected, depth: depth))
        if connected { for topic in orgTopics.values { refreshOrg(topic) } }
    }

    // MARK: - Notifications (loop thread)

    /// Routes one drain's notifications, then sends what they produced.
    func handle(_ notifications: [PostgresNotification]) {
        metrics.notificationsReceived += notifications.count
        if let last = notifications.last { metrics.lastNotificationAt = last.receivedAt }
        for note in notifications {
            guard let payload = NotificationPayload.parse(note.payload) else {
                logger.warning("ignoring a notification that is not ours: \(note.payloadString.prefix(80))")
                continue
            }
            route(payload, note.payload)
        }
        flush(receivedAt: notifications.first?.receivedAt)
    }

    func route(_ p: NotificationPayload, _ bytes: [UInt8]) {
        switch p.kind {
        case .items:
            metrics.eventsReceived += Int(p.hi - p.lo + 1)
        case .run, .budgetWarning:
            metrics.eventsReceived += 1
        case .sellers:
            return
        }
        perform(core.notified(p, bytes, depth: depth))
        guard p.kind != .items, let range = p.events, let org = orgTopics[p.org] else { return }
        let event = Array(bytes[range])
        if p.kind == .run {
            org.pendingRuns[p.run] = event
            if org.refreshesInFlight > 0 { org.liveDuringRefresh.insert(p.run) }
            if p.statusChanged { recountBadge(org) }
        } else {
            org.pendingWarnings.append(event)
        }
        markDirty(org)
    }

    // MARK: - Sending (loop thread)

    func markDirty(_ topic: OrgTopic) {
        if !topic.dirty {
            topic.dirty = true
            dirtyOrgs.append(topic)
        }
    }

    /// Hands each changed run topic's wave to its subscribers (the core builds each frame
    /// once), then each changed org topic's frame, held and coalesced for backed-up clients.
    func flush(receivedAt: ContinuousClock.Instant?) {
        perform(core.flush(depth: depth))
        let orgs = dirtyOrgs
        dirtyOrgs.removeAll(keepingCapacity: true)
        for topic in orgs {
            topic.dirty = false
            let runs = topic.pendingRuns, warnings = topic.pendingWarnings, badge = topic.pendingBadge
            topic.pendingRuns = [:]
            topic.pendingWarnings = []
            topic.pendingBadge = nil
            let events = Array(runs.values) + warnings + (badge.map { [$0] } ?? [])
            guard !events.isEmpty else { continue }
            topic.openSnapshot = nil  // a newcomer would miss this frame: it asks its own read
            let frame = FeedFrame(events.jsonArray(), mergeable: true)
            let state = runs.map { (key: "run:" + $0.key, event: $0.value) } + (badge.map { [(key: "badge", event: $0)] } ?? [])
            for client in topic.subscribers.values where client.session.isOpen {
                perform(core.deliverState(to: client.id, frame: frame, events: events.count, state: state, warnings: warnings, depth: depth))
            }
        }
        if let receivedAt { metrics.observeLag((ContinuousClock.now - receivedAt).seconds * 1000) }
    }

    /// Does what the core decided, in order. One transport frame per `FeedFrame`, however
    /// many clients it goes to (the pass-through stays zero-copy per client).
    func perform(_ actions: [FeedAction]) {
        var lastFrame: (FeedFrame, SharedFrame)?
        var built: [ObjectIdentifier: SharedFrame] = [:]
        for action in actions {
            switch action {
            case .send(let id, let frame, let count):
                guard let session = clients[id]?.session, session.isOpen else { continue }
                let shared: SharedFrame
                if let (feed, frameBuilt) = lastFrame, feed === frame {
                    shared = frameBuilt
                } else {
                    shared = built[ObjectIdentifier(frame)] ?? SharedFrame(bytes: frame.bytes, mergeableJSONArray: frame.mergeable)
                    built[ObjectIdentifier(frame)] = shared
                    lastFrame = (frame, shared)
                }
                // Left for the socket's writable turn, where everything queued by then goes
                // as one merged frame and one send(): written at once, every drain cost a
                // send() per client, and at full rate the hub fell seconds behind on that
                // alone (BENCHMARKS.md, S3). This is c_hub's way; at low rates it costs one
                // poll() and no measurable latency.
                session.send(shared, atOnce: false)
                metrics.framesSent += 1
                metrics.eventsSent += count
                metrics.bytesQueued += shared.count
            case .error(let id, let error, let topic):
                if let client = clients[id] { sendControl(JSONText.error(error, topic: topic), to: client) }
            case .read(let read):
                if case .snapshot = read {} else { metrics.backfills += 1 }
                self.read(read)
            case .wake(let milliseconds, let wake):
                _ = loop?.schedule(after: .milliseconds(milliseconds)) { [weak self] in
                    guard let self else { return }
                    self.perform(self.core.woke(wake, depth: self.depth))
                }
            case .closeSlow(let id, let bytes):
                guard let client = clients[id], client.session.isOpen else { continue }
                metrics.slowClientsClosed += 1
                metrics.slowClientBytesAtClose = bytes
                logger.notice("closing slow client \(client.session.id) holding \(bytes) bytes (queued \(client.session.queuedBytes))")
                client.session.close(code: CloseCode.slowConsumer, reason: CloseCode.slowConsumerReason)
            }
        }
    }

    /// Loop thread: the counters, with those the core keeps, as /metrics and /healthz read them.
    var counters: HubMetrics {
        var m = metrics
        m.subscriptions = core.runSubscriptions + orgSubscriptions
        m.runSnapshotsShared = core.snapshotsShared
        m.gapsFilled = core.gapsFilled
        return m
    }

    func sendControl(_ text: String, to client: ClientState) {
        guard client.session.isOpen else { return }
        client.session.sendText(text)
        metrics.framesSent += 1
    }

    /// Org subscriptions open, kept beside the core's run subscriptions for /metrics.
    func orgSubscriptionsChanged(by delta: Int) {
        orgSubscriptions += delta
    }
}
