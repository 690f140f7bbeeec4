import Foundation

/// The fan-out's decisions for run topics and the per-client bound, as a value: each method
/// takes what happened (a notification, a table page, a LISTEN change, a subscribe, a timer)
/// and returns what the shell must do (send these bytes, read this range, close 4008…).
/// NOTIFY is only a wake-up, the tables are the truth: a gap, a LISTEN outage or a replaying
/// subscriber is answered by a table read, and live waves wait in the subscriber's buffer
/// until that read is sent, so every client gets every item exactly once, in order.
public struct FanOutCore: Sendable {
    public let limits: FeedLimits
    public internal(set) var feeds: [String: RunFeed] = [:]
    public internal(set) var clients = ClientTable<ClientQueue>()
    /// Bumped each time LISTEN comes up: a read that began under another epoch, or before
    /// LISTEN was up, may have missed notifications.
    public internal(set) var listenEpoch = 0
    public internal(set) var listening = false
    /// Run subscriptions open (all clients).
    public internal(set) var runSubscriptions = 0
    var dirtyRuns: [String] = []
    var holding: Set<FeedClientID> = []
    var releaseScheduled = false
    /// The pending table between batches (see `run`).
    var spareTable = ClientTable<Int>()
    var nextTicket = 0
    /// Topic keys by run id, so answers and timers find their topic without reformatting the id.
    var runKeys: [UUID: String] = [:]
    /// First reads in flight, by the asker's ticket, with who joined them.
    var sharedSnapshots: [Int: SharedSnapshot] = [:]
    /// Subscribers answered by a read another subscriber asked for.
    public internal(set) var snapshotsShared = 0
    /// Gaps that filled by themselves within `FeedLimits.gapGraceMilliseconds` (no read).
    public internal(set) var gapsFilled = 0

    public init(limits: FeedLimits) { self.limits = limits }

    /// The epoch a read starting now belongs to; -1 while nothing is listening.
    var readEpoch: Int { listening ? listenEpoch : -1 }

    func topicKey(_ runID: UUID) -> String { runKeys[runID] ?? runID.uuidString.lowercased() }

    /// A read begun in `epoch` may have missed notifications that are now recoverable.
    func missedNotifications(since epoch: Int) -> Bool { listening && epoch != listenEpoch }

    /// Actions of one call, and the bytes they queue per client (the socket's depth does
    /// not include them until the shell has performed them).
    struct Batch {
        var actions: [FeedAction] = []
        var pending: ClientTable<Int>
        var touched: [FeedClientID] = []
        let depth: QueueDepth
        func queued(_ client: FeedClientID) -> Int { depth(client) + pending[client, default: 0] }
        mutating func add(_ bytes: Int, for client: FeedClientID) {
            if pending[client] == nil { touched.append(client) }
            pending[client, default: 0] += bytes
        }
    }

    mutating func run(_ depth: @escaping QueueDepth, _ body: (inout FanOutCore, inout Batch) -> Void) -> [FeedAction] {
        // The pending table's arrays span the highest slot in use: kept between batches and
        // cleared entry by entry, so a batch costs what it touches, not the slots there are.
        var batch = Batch(pending: spareTable, depth: depth)
        spareTable = ClientTable()
        body(&self, &batch)
        for client in batch.touched { batch.pending[client] = nil }
        spareTable = batch.pending
        return batch.actions
    }

    // MARK: - Subscriptions

    /// A client subscribes to a run topic (permissions and counts are the caller's).
    public mutating func subscribe(_ client: FeedClientID, run runID: UUID, org: UUID, since: Int64?,
                                   depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            let key = core.runKeys[runID] ?? runID.uuidString.lowercased()
            // ClientMessage bounds `since`; a caller that did not is answered, never trapped.
            guard let cursor = StreamCursor(since: since ?? 0) else {
                b.actions.append(.error(client, ProtocolError(.badSince, "since must be between 0 and \(SequenceNumber.max)"), topic: "run:" + key))
                return
            }
            core.removeCursor(client, key)
            // Join the topic before reading the table: whatever commits after the read is
            // then caught as a live wave, and buffered until the read is sent.
            core.nextTicket += 1
            if core.feeds[key] == nil {
                core.feeds[key] = RunFeed(runID: runID, key: key, ticket: core.nextTicket)
                core.runKeys[runID] = key
            }
            core.feeds[key]!.cursors[client] = RunCursor(cursor: cursor, since: since, ticket: core.nextTicket, org: org)
            core.clients[client, default: ClientQueue()].runs.insert(key)
            core.runSubscriptions += 1
            core.requestSnapshot(client, key, runID: runID, org: org, since: since, ticket: core.nextTicket, &b)
        }
    }

    /// A client leaves a run topic; false when it was not subscribed.
    @discardableResult
    public mutating func unsubscribe(_ client: FeedClientID, run runID: UUID) -> Bool {
        removeCursor(client, topicKey(runID))
    }

    /// The client's session is gone.
    public mutating func clientClosed(_ client: FeedClientID) {
        guard let queue = clients[client] else { return }
        for key in queue.runs { removeCursor(client, key) }
        clients[client] = nil
        holding.remove(client)
    }

    /// Number of run topics this client follows.
    public func subscriptionCount(_ client: FeedClientID) -> Int { clients[client]?.runs.count ?? 0 }

    @discardableResult
    mutating func removeCursor(_ client: FeedClientID, _ key: String) -> Bool {
        guard let cursor = feeds[key]?.cursors.removeValue(forKey: client) else { return false }
        clients[client]?.bufferedBytes -= cursor.bufferedBytes
        clients[client]?.runs.remove(key)
        runSubscriptions -= 1
        if let feed = feeds[key], feed.cursors.isEmpty {
            feeds[key] = nil
            runKeys[feed.runID] = nil
        }
        return true
    }

    // MARK: - Notifications

    /// One notification of a drain, for run topics (the org topic is the shell's). Call
    /// `flush` after the drain.
    public mutating func notified(_ p: NotificationPayload, _ bytes: [UInt8], depth: @escaping QueueDepth) -> [FeedAction] {
        let key = p.run
        guard feeds[key] != nil else { return [] }
        return run(depth) { core, b in
            switch p.kind {
            case .items:
                core.take(ItemsNote(lo: p.lo, hi: p.hi, events: p.events.map { bytes[$0] }), key, &b)
            case .run:
                if let range = p.events { core.feeds[key]!.takeRunEvent(Array(bytes[range])) }
            case .budgetWarning:
                if let range = p.events { core.feeds[key]!.takeWarning(Array(bytes[range])) }
            case .sellers:
                break
            }
            core.markDirty(key)
        }
    }

    /// Builds each changed topic's frame once and hands it to its subscribers.
    public mutating func flush(depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in core.flush(&b) }
    }

    mutating func markDirty(_ key: String) {
        guard feeds[key]?.dirty == true, !dirtyRuns.contains(key) else { return }
        dirtyRuns.append(key)
    }

    mutating func flush(_ b: inout Batch) {
        let keys = dirtyRuns
        dirtyRuns.removeAll(keepingCapacity: true)
        for key in keys {
            guard feeds[key] != nil else { continue }
            let wave = feeds[key]!.takeWave()
            if !wave.isEmpty {
                closeQuestions(key)
                deliver(wave, key, &b)
            }
        }
    }

    mutating func deliver(_ wave: EventWave, _ key: String, _ b: inout Batch) {
        guard var cursors = feeds[key]?.cursors else { return }
        // The topic's cursors are ours alone while the fast path runs: advanced in place.
        feeds[key]!.cursors = [:]
        let state = feeds[key]!.latestRunEvent
        var shared: FeedFrame?
        let eventCount = (wave.hasItems ? Int(wave.hi - wave.lo + 1) : 0) + wave.extras.count
        var others: [FeedClientID] = []
        b.actions.reserveCapacity(b.actions.count + cursors.count)
        var i = cursors.startIndex
        while i != cursors.endIndex {
            defer { i = cursors.index(after: i) }
            let client = cursors.keys[i]
            guard let queue = clients.glance(client), !queue.closed else { continue }
            let queued = b.queued(client)
            // The fast path: a live client right before the wave gets the same bytes as
            // every other client there. Everyone else is decided one by one below.
            let holds = !wave.hasItems && (queue.isHolding || queued > limits.coalesceThreshold) && state != nil
            guard cursors.values[i].isLive, !holds, !wave.hasItems || cursors.values[i].cursor.placement(lo: wave.lo, hi: wave.hi) == .next else {
                others.append(client)
                continue
            }
            if shared == nil { shared = FeedFrame(wave.frame(), mergeable: true) }
            guard queue.admits(shared!.bytes.count, queued: queued, bound: limits.maxQueuedBytesPerClient) else {
                others.append(client)
                continue
            }
            if wave.hasItems { cursors.values[i].cursor.advance(to: wave.hi) }
            b.actions.append(.send(client, shared!, events: eventCount))
            b.add(shared!.bytes.count, for: client)
        }
        feeds[key]!.cursors = cursors
        for client in others { deliver(wave, key, to: client, state: state, shared: &shared, events: eventCount, &b) }
    }

    /// The wave for one client off the fast path: buffered, held, cut, read first, or refused.
    mutating func deliver(_ wave: EventWave, _ key: String, to client: FeedClientID, state: [UInt8]?,
                                  shared: inout FeedFrame?, events eventCount: Int, _ b: inout Batch) {
        guard var sub = feeds[key]?.cursors[client], let queue = clients[client], !queue.closed else { return }
        guard sub.isLive else { return buffer(wave, client, key, &b) }
        if !wave.hasItems && (queue.isHolding || b.queued(client) > limits.coalesceThreshold), let state {
            // Only state (no items) and the client is behind: keep the latest for later.
            hold(client, key: "run:" + key, state, &b)
            hold(client, warnings: Array(wave.extras.dropLast()), &b)
            return
        }
        switch wave.hasItems ? sub.cursor.placement(lo: wave.lo, hi: wave.hi) : .next {
        case .next:
            if shared == nil { shared = FeedFrame(wave.frame(), mergeable: true) }
            if wave.hasItems { sub.cursor.advance(to: wave.hi) }
            feeds[key]!.cursors[client] = sub
            send(client, shared!, events: eventCount, &b)
        case .overlapping, .alreadySent, .invalid:
            let fresh = sub.cursor.newItems(lo: wave.lo, hi: wave.hi)
            let frame = wave.frame(after: sub.cursor.last)
            sub.cursor.advance(to: wave.hi)
            feeds[key]!.cursors[client] = sub
            if let frame { send(client, FeedFrame(frame, mergeable: true), events: Int(fresh) + wave.extras.count, &b) }
        case .gap:
            // This client is behind the wave: read its gap first.
            sub.phase = .replaying
            feeds[key]!.cursors[client] = sub
            buffer(wave, client, key, &b)
            replay(client, key, &b)
        }
    }
}
