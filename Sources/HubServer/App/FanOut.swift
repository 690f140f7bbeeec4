import Foundation
import HubCore
import HubStore
import Logging

/// Turns NOTIFY payloads into frames for subscribed clients. Loop thread only, except the
/// table reads, which run on `db` and come back through `loop.post`.
///
/// Each drain of the LISTEN socket collects, per run, the new events into one wave; the
/// wave's frame is built once and the same bytes are queued to every client whose cursor
/// is right before it. A client replaying (`since`) or a topic that missed
/// notifications (LISTEN dropped) reads the gap from the table first: NOTIFY is only a
/// wake-up, the tables are the truth.
// @unchecked Sendable: loop thread only; database reads run on workers and post their results back.
final class FanOut: @unchecked Sendable {
    let config: HubConfig
    let pool: ConnectionPool
    let logger: Logger
    /// Table reads run here, bounded; a refused read fails at once into its retry or `unavailable` path.
    let db: DatabaseWorkers
    weak var loop: HubLoop?
    var metrics = HubMetrics()
    var runTopics: [String: RunTopic] = [:]
    var orgTopics: [String: OrgTopic] = [:]
    private var dirtyRuns: [RunTopic] = []
    private var dirtyOrgs: [OrgTopic] = []
    /// Clients with held state updates, and whether a release timer is pending.
    private var clientsHolding: [ObjectIdentifier: ClientState] = [:]
    private var releaseScheduled = false
    /// Queue depth from which state updates are held and coalesced.
    var coalesceThreshold: Int { max(4096, config.maxQueuedBytesPerClient / 8) }

    /// Bumped each time the LISTEN connection is (re)established: a table read that began
    /// under another epoch, or before LISTEN was up, may have missed notifications.
    var listenEpoch = 0

    /// The epoch a table read starting now belongs to; -1 while nothing is listening.
    var currentReadEpoch: Int { metrics.listenConnected ? listenEpoch : -1 }

    /// True when a read begun in `epoch` may have missed notifications that are now
    /// recoverable (LISTEN is up again, or came up during the read).
    func missedNotifications(since epoch: Int) -> Bool {
        metrics.listenConnected && epoch != listenEpoch
    }

    /// Items per table read (replay page, backfill page).
    let pageSize = 500
    let maxSubscriptionsPerClient = 100

    init(config: HubConfig, pool: ConnectionPool, db: DatabaseWorkers, logger: Logger) {
        self.config = config
        self.pool = pool
        self.db = db
        self.logger = logger
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
            if let topic = runTopics[p.run] { items(p, bytes, topic) }
        case .run:
            metrics.eventsReceived += 1
            guard let range = p.events else { return }
            let event = Array(bytes[range])
            if let topic = runTopics[p.run] {
                topic.pendingRun = event
                markDirty(topic)
            }
            if let org = orgTopics[p.org] {
                org.pendingRuns[p.run] = event
                if org.refreshesInFlight > 0 { org.liveDuringRefresh.insert(p.run) }
                markDirty(org)
                if p.statusChanged { recountBadge(org) }
            }
        case .budgetWarning:
            metrics.eventsReceived += 1
            guard let range = p.events else { return }
            let event = Array(bytes[range])
            if let topic = runTopics[p.run] {
                topic.pendingWarnings.append(event)
                markDirty(topic)
            }
            if let org = orgTopics[p.org] {
                org.pendingWarnings.append(event)
                markDirty(org)
            }
        case .sellers:
            break
        }
    }

    /// Appends a notification's items to the topic's wave, or reads the gap from the table.
    func items(_ p: NotificationPayload, _ bytes: [UInt8], _ topic: RunTopic) {
        guard let last = topic.lastSeq, !topic.backfilling else {
            topic.queued.append((p, bytes))
            return
        }
        if p.hi <= last { return }
        // p.lo is a bounded sequence number (≥ 0), so `p.lo - 1` cannot overflow, while
        // `last + 1` could for a table value near Int64.max.
        if p.lo - 1 == last, let range = p.events {
            topic.wave.append(items: bytes[range], lo: p.lo, hi: p.hi)
            topic.lastSeq = p.hi
            markDirty(topic)
        } else {
            // A gap (missed notifications) or a statement too large to inline.
            topic.queued.append((p, bytes))
            backfill(topic)
        }
    }

    /// Reads items after the topic's last sequence number into its wave, then replays
    /// the notifications that arrived meanwhile.
    func backfill(_ topic: RunTopic, refreshRun: Bool = false) {
        guard let last = topic.lastSeq, !topic.backfilling else { return }
        topic.backfilling = true
        metrics.backfills += 1
        let runID = topic.runID, limit = pageSize
        db.run(pool) { [weak self] pool in
            let result = Result {
                try pool.withConnection { c in
                    (try FanOutQueries.items(c, run: runID, afterSeq: last, limit: limit),
                     refreshRun ? try FanOutQueries.runEvent(c, run: runID) : nil)
                }
            }
            self?.loop?.post { [weak self] in self?.backfilled(topic, result) }
        }
    }

    private func backfilled(_ topic: RunTopic, _ result: Result<((events: [[UInt8]], lo: Int64, hi: Int64), [UInt8]?), Error>) {
        topic.backfilling = false
        guard runTopics[topic.key] === topic else { return }
        switch result {
        case .failure(let error):
            logger.warning("backfill of run \(topic.key) failed, retrying: \(error)")
            topic.backfilling = true
            _ = loop?.schedule(after: .milliseconds(500)) { [weak self] in
                topic.backfilling = false
                self?.backfill(topic)
            }
            return
        case .success(let (page, runEvent)):
            if !page.events.isEmpty {
                topic.wave.append(items: page.events.joinedWithCommas()[...], lo: page.lo, hi: page.hi)
                topic.lastSeq = page.hi
                markDirty(topic)
            }
            if let runEvent {
                topic.pendingRun = runEvent
                markDirty(topic)
            }
            if page.events.count == pageSize {
                flush(receivedAt: nil)
                backfill(topic)
                return
            }
        }
        let queued = topic.queued
        topic.queued = []
        for (p, bytes) in queued { items(p, bytes, topic) }
        flush(receivedAt: nil)
    }

    // MARK: - Sending (loop thread)

    func markDirty(_ topic: RunTopic) {
        if !topic.dirty {
            topic.dirty = true
            dirtyRuns.append(topic)
        }
    }

    func markDirty(_ topic: OrgTopic) {
        if !topic.dirty {
            topic.dirty = true
            dirtyOrgs.append(topic)
        }
    }

    /// Builds each dirty topic's frame once and queues it to its subscribers.
    func flush(receivedAt: ContinuousClock.Instant?) {
        let runs = dirtyRuns
        dirtyRuns.removeAll(keepingCapacity: true)
        for topic in runs {
            topic.dirty = false
            var wave = topic.wave
            topic.wave = EventWave()
            wave.extras = topic.pendingWarnings + (topic.pendingRun.map { [$0] } ?? [])
            topic.latestRunEvent = topic.pendingRun
            topic.pendingWarnings = []
            topic.pendingRun = nil
            if !wave.isEmpty { deliver(wave, to: topic) }
        }
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
            var frame: [UInt8] = [UInt8(ascii: "[")]
            frame += events.joinedWithCommas()
            frame.append(UInt8(ascii: "]"))
            let shared = SharedFrame(bytes: frame, mergeableJSONArray: true)
            for client in topic.subscribers.values {
                // Once holding, keep holding until released, or an older state could
                // overtake a newer one.
                if client.isHolding || client.session.queuedBytes > coalesceThreshold {
                    for (run, event) in runs { hold(client, key: "run:" + run, event) }
                    if let badge { hold(client, key: "badge", badge) }
                    hold(client, warnings: warnings)
                } else {
                    send(shared, to: client, events: events.count)
                }
            }
        }
        if let receivedAt { metrics.observeLag((ContinuousClock.now - receivedAt).seconds * 1000) }
    }

    private func deliver(_ wave: EventWave, to topic: RunTopic) {
        var shared: SharedFrame?
        let eventCount = (wave.hasItems ? Int(wave.hi - wave.lo + 1) : 0) + wave.extras.count
        for client in topic.subscribers.values {
            guard let sub = client.runs[topic.key] else { continue }
            if !sub.live {
                buffer(wave, for: client, in: sub)
                continue
            }
            if !wave.hasItems && (client.isHolding || client.session.queuedBytes > coalesceThreshold), let run = topic.latestRunEvent {
                // Only state (no items) and the client is behind: keep the latest for later.
                hold(client, key: "run:" + topic.key, run)
                hold(client, warnings: Array(wave.extras.dropLast()))
                continue
            }
            let placement: StreamCursor.Placement = wave.hasItems ? sub.cursor.placement(lo: wave.lo, hi: wave.hi) : .next
            switch placement {
            case .next:
                // The fast path: the same bytes for every client at the same position.
                if shared == nil { shared = SharedFrame(bytes: wave.frame(), mergeableJSONArray: true) }
                send(shared!, to: client, events: eventCount)
                if wave.hasItems { sub.cursor.advance(to: wave.hi) }
            case .overlapping, .alreadySent, .invalid:
                if let frame = wave.frame(after: sub.cursor.last) {
                    let fresh = sub.cursor.newItems(lo: wave.lo, hi: wave.hi)
                    send(SharedFrame(bytes: frame, mergeableJSONArray: true), to: client, events: Int(fresh) + wave.extras.count)
                }
                sub.cursor.advance(to: wave.hi)
            case .gap:
                // This client is behind the wave: read its gap first.
                sub.live = false
                buffer(wave, for: client, in: sub)
                replay(client, topic.runID, topic.key)
            }
        }
    }

    /// Keeps a wave for a subscription whose table read is in flight; counted against the
    /// client's one bound, so many replaying subscriptions cannot add up unnoticed.
    func buffer(_ wave: EventWave, for client: ClientState, in sub: RunSubscription) {
        guard client.session.isOpen else { return }
        sub.buffered.append(wave)
        sub.bufferedBytes += wave.byteCount
        client.bufferedBytes += wave.byteCount
        if client.bytesHeld > config.maxQueuedBytesPerClient { closeSlow(client) }
    }

    /// Drops a subscription's buffered waves from the client's count (sent or discarded).
    func releaseBuffered(_ sub: RunSubscription, of client: ClientState) -> [EventWave] {
        let waves = sub.buffered
        client.bufferedBytes -= sub.bufferedBytes
        sub.buffered = []
        sub.bufferedBytes = 0
        return waves
    }

    /// Keeps a state update for a backed-up client; the newest per key wins.
    private func hold(_ client: ClientState, key: String, _ event: [UInt8]) {
        guard client.session.isOpen else { return }
        let replaced = client.held.updateValue(event, forKey: key)
        client.heldBytes += event.count + (replaced == nil ? key.utf8.count : -(replaced!.count))
        clientsHolding[ObjectIdentifier(client)] = client
        if client.bytesHeld > config.maxQueuedBytesPerClient { return closeSlow(client) }
        scheduleRelease()
    }

    /// Budget warnings are events, not state: each is kept.
    private func hold(_ client: ClientState, warnings: [[UInt8]]) {
        guard !warnings.isEmpty, client.session.isOpen else { return }
        client.heldWarnings += warnings
        client.heldBytes += warnings.reduce(0) { $0 + $1.count }
        clientsHolding[ObjectIdentifier(client)] = client
        if client.bytesHeld > config.maxQueuedBytesPerClient { return closeSlow(client) }
        scheduleRelease()
    }

    private func scheduleRelease() {
        guard !releaseScheduled else { return }
        releaseScheduled = true
        _ = loop?.schedule(after: .milliseconds(50)) { [weak self] in
            guard let self else { return }
            self.releaseScheduled = false
            self.releaseHeld()
        }
    }

    /// Sends held updates, one frame per client, once its queue has drained below the threshold.
    private func releaseHeld() {
        for (id, client) in clientsHolding {
            guard client.session.isOpen else {
                clientsHolding[id] = nil
                continue
            }
            guard client.session.queuedBytes <= coalesceThreshold else { continue }
            let events = client.heldWarnings + Array(client.held.values)
            client.held = [:]
            client.heldWarnings = []
            client.heldBytes = 0
            clientsHolding[id] = nil
            var frame: [UInt8] = [UInt8(ascii: "[")]
            frame += events.joinedWithCommas()
            frame.append(UInt8(ascii: "]"))
            send(SharedFrame(bytes: frame, mergeableJSONArray: true), to: client, events: events.count)
        }
        if !clientsHolding.isEmpty { scheduleRelease() }
    }

    /// Queues `frame` unless the client is over its bound, which closes it (4008). A client
    /// holding nothing takes any frame: one wave bigger than the bound (a busy moment merges
    /// many events) says nothing about whether the client reads.
    func send(_ frame: SharedFrame, to client: ClientState, events: Int) {
        let session = client.session
        guard session.isOpen else { return }
        if client.bytesHeld > 0 && client.bytesHeld + frame.count > config.maxQueuedBytesPerClient {
            closeSlow(client, adding: frame.count)
            return
        }
        session.send(frame)
        metrics.framesSent += 1
        metrics.eventsSent += events
        metrics.bytesQueued += frame.count
    }

    /// Closes a client over its bound (`adding`: the frame that did not fit) with 4008.
    func closeSlow(_ client: ClientState, adding: Int = 0) {
        guard client.session.isOpen else { return }
        metrics.slowClientsClosed += 1
        metrics.slowClientBytesAtClose = client.bytesHeld + adding
        logger.notice("closing slow client \(client.session.id) holding \(client.bytesHeld) + \(adding) bytes (queued \(client.session.queuedBytes), buffered \(client.bufferedBytes), held \(client.heldBytes))")
        client.session.close(code: CloseCode.slowConsumer, reason: CloseCode.slowConsumerReason)
        // It will never be sent what it holds: free it now, not when the close completes.
        for sub in client.runs.values { _ = releaseBuffered(sub, of: client) }
        client.held = [:]
        client.heldWarnings = []
        client.heldBytes = 0
        clientsHolding[ObjectIdentifier(client)] = nil
    }

    func sendControl(_ text: String, to client: ClientState) {
        guard client.session.isOpen else { return }
        client.session.sendText(text)
        metrics.framesSent += 1
    }
}
