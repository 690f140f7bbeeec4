import Foundation

/// The fan-out's decisions for run topics and the per-client bound, as a value: each method
/// takes what happened (a notification, a table page, a LISTEN change, a subscribe, a timer)
/// and returns what the shell must do (send these bytes, read this range, close 4008…).
/// NOTIFY is only a wake-up, the tables are the truth: a gap, a LISTEN outage or a replaying
/// subscriber is answered by a table read, and live waves wait in the subscriber's buffer
/// until that read is sent, so every client gets every item exactly once, in order.
public struct FanOutCore: Sendable {
    public let limits: FeedLimits
    public private(set) var feeds: [String: RunFeed] = [:]
    public private(set) var clients: [FeedClientID: ClientQueue] = [:]
    /// Bumped each time LISTEN comes up: a read that began under another epoch, or before
    /// LISTEN was up, may have missed notifications.
    public private(set) var listenEpoch = 0
    public private(set) var listening = false
    /// Run subscriptions open (all clients).
    public private(set) var runSubscriptions = 0
    private var dirtyRuns: [String] = []
    private var holding: Set<FeedClientID> = []
    private var releaseScheduled = false
    private var nextTicket = 0
    /// Topic keys by run id, so answers and timers find their topic without reformatting the id.
    private var runKeys: [UUID: String] = [:]

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
        var pending: [FeedClientID: Int] = [:]
        let depth: QueueDepth
        func queued(_ client: FeedClientID) -> Int { depth(client) + pending[client, default: 0] }
    }

    private mutating func run(_ depth: @escaping QueueDepth, _ body: (inout FanOutCore, inout Batch) -> Void) -> [FeedAction] {
        var batch = Batch(depth: depth)
        body(&self, &batch)
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
            b.actions.append(.read(.snapshot(client: client, run: runID, org: org, since: since, ticket: core.nextTicket, epoch: core.readEpoch)))
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
    private mutating func removeCursor(_ client: FeedClientID, _ key: String) -> Bool {
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
                let note = ItemsNote(lo: p.lo, hi: p.hi, events: p.events.map { bytes[$0] })
                if core.feeds[key]!.take(note) { core.startBackfill(key, refreshRun: false, &b) }
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

    private mutating func markDirty(_ key: String) {
        guard feeds[key]?.dirty == true, !dirtyRuns.contains(key) else { return }
        dirtyRuns.append(key)
    }

    private mutating func flush(_ b: inout Batch) {
        let keys = dirtyRuns
        dirtyRuns.removeAll(keepingCapacity: true)
        for key in keys {
            guard feeds[key] != nil else { continue }
            let wave = feeds[key]!.takeWave()
            if !wave.isEmpty { deliver(wave, key, &b) }
        }
    }

    private mutating func deliver(_ wave: EventWave, _ key: String, _ b: inout Batch) {
        guard var cursors = feeds[key]?.cursors else { return }
        // The topic's cursors are ours alone while the fast path runs: advanced in place.
        feeds[key]!.cursors = [:]
        let state = feeds[key]!.latestRunEvent
        var shared: FeedFrame?
        let eventCount = (wave.hasItems ? Int(wave.hi - wave.lo + 1) : 0) + wave.extras.count
        var others: [FeedClientID] = []
        var i = cursors.startIndex
        while i != cursors.endIndex {
            defer { i = cursors.index(after: i) }
            let client = cursors.keys[i]
            guard let queue = clients[client], !queue.closed else { continue }
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
            b.pending[client, default: 0] += shared!.bytes.count
        }
        feeds[key]!.cursors = cursors
        for client in others { deliver(wave, key, to: client, state: state, shared: &shared, events: eventCount, &b) }
    }

    /// The wave for one client off the fast path: buffered, held, cut, read first, or refused.
    private mutating func deliver(_ wave: EventWave, _ key: String, to client: FeedClientID, state: [UInt8]?,
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

    // MARK: - The client's bound

    /// Queues `frame` unless the client is over its bound, which closes it (4008).
    private mutating func send(_ client: FeedClientID, _ frame: FeedFrame, events: Int, _ b: inout Batch) {
        guard let queue = clients[client], !queue.closed else { return }
        let count = frame.bytes.count
        guard queue.admits(count, queued: b.queued(client), bound: limits.maxQueuedBytesPerClient) else {
            return closeSlow(client, adding: count, &b)
        }
        b.actions.append(.send(client, frame, events: events))
        b.pending[client, default: 0] += count
    }

    /// Keeps a wave for a subscription whose table read is in flight; counted against the
    /// client's one bound, so many replaying subscriptions cannot add up unnoticed.
    private mutating func buffer(_ wave: EventWave, _ client: FeedClientID, _ key: String, _ b: inout Batch) {
        guard clients[client]?.closed == false, feeds[key]?.cursors[client] != nil else { return }
        feeds[key]!.cursors[client]!.buffered.append(wave)
        feeds[key]!.cursors[client]!.bufferedBytes += wave.byteCount
        clients[client]!.bufferedBytes += wave.byteCount
        if clients[client]!.bytesHeld(queued: b.queued(client)) > limits.maxQueuedBytesPerClient { closeSlow(client, &b) }
    }

    /// Closes a client over its bound (`adding`: the frame that did not fit) with 4008, and
    /// frees what it holds now, not when the close completes: it will never be sent.
    private mutating func closeSlow(_ client: FeedClientID, adding: Int = 0, _ b: inout Batch) {
        guard var queue = clients[client], !queue.closed else { return }
        let bytes = queue.bytesHeld(queued: b.queued(client)) + adding
        for key in queue.runs where feeds[key]?.cursors[client] != nil {
            feeds[key]!.cursors[client]!.buffered = []
            feeds[key]!.cursors[client]!.bufferedBytes = 0
        }
        queue.bufferedBytes = 0
        queue.close()
        clients[client] = queue
        holding.remove(client)
        b.actions.append(.closeSlow(client, bytes: bytes))
    }

    // MARK: - Held state updates

    /// State for one client from outside the run topics (the org topic): sent as `frame`, or
    /// held and coalesced by key while the client is backed up (once holding, it keeps
    /// holding until released, or an older state could overtake a newer one).
    public mutating func deliverState(to client: FeedClientID, frame: FeedFrame, events: Int, state: [(key: String, event: [UInt8])],
                                      warnings: [[UInt8]], depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            if core.clients[client] == nil { core.clients[client] = ClientQueue() }
            let queue = core.clients[client]!
            guard !queue.closed else { return }
            if queue.isHolding || b.queued(client) > core.limits.coalesceThreshold {
                for (key, event) in state { core.hold(client, key: key, event, &b) }
                core.hold(client, warnings: warnings, &b)
            } else {
                core.send(client, frame, events: events, &b)
            }
        }
    }

    /// A frame for one client, within its bound (snapshots of other topics).
    public mutating func send(_ frame: FeedFrame, events: Int, to client: FeedClientID, depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            if core.clients[client] == nil { core.clients[client] = ClientQueue() }
            core.send(client, frame, events: events, &b)
        }
    }

    private mutating func hold(_ client: FeedClientID, key: String, _ event: [UInt8], _ b: inout Batch) {
        guard clients[client]?.closed == false else { return }
        clients[client]!.hold(key: key, event)
        afterHolding(client, &b)
    }

    private mutating func hold(_ client: FeedClientID, warnings: [[UInt8]], _ b: inout Batch) {
        guard !warnings.isEmpty, clients[client]?.closed == false else { return }
        clients[client]!.hold(warnings: warnings)
        afterHolding(client, &b)
    }

    private mutating func afterHolding(_ client: FeedClientID, _ b: inout Batch) {
        holding.insert(client)
        if clients[client]!.bytesHeld(queued: b.queued(client)) > limits.maxQueuedBytesPerClient { return closeSlow(client, &b) }
        if !releaseScheduled {
            releaseScheduled = true
            b.actions.append(.wake(afterMilliseconds: 50, .release))
        }
    }

    /// Sends held updates, one frame per client, once its queue has drained below the threshold.
    private mutating func releaseHeld(_ b: inout Batch) {
        for client in holding.sorted() {
            guard clients[client]?.closed == false, clients[client]!.isHolding else {
                holding.remove(client)
                continue
            }
            guard b.queued(client) <= limits.coalesceThreshold else { continue }
            let events = clients[client]!.takeHeld()
            holding.remove(client)
            send(client, FeedFrame(events.jsonArray(), mergeable: true), events: events.count, &b)
        }
        if !holding.isEmpty {
            releaseScheduled = true
            b.actions.append(.wake(afterMilliseconds: 50, .release))
        }
    }

    // MARK: - Reads and timers

    /// The LISTEN connection went down or came up (the first time too: clients may subscribe
    /// before it is). Notifications sent while it was down are lost, so every topic reads
    /// what it missed; topics whose first read is in flight check their epoch.
    public mutating func listenChanged(connected: Bool, depth: @escaping QueueDepth) -> [FeedAction] {
        listening = connected
        guard connected else { return [] }
        listenEpoch += 1
        return run(depth) { core, b in
            for key in core.feeds.keys.sorted() where core.feeds[key]!.lastSeq != nil {
                core.feeds[key]!.refreshRun = true
                core.startBackfill(key, refreshRun: true, &b)
            }
        }
    }

    private mutating func startBackfill(_ key: String, refreshRun: Bool, _ b: inout Batch) {
        if refreshRun { feeds[key]?.refreshRun = true }
        guard let feed = feeds[key], let last = feed.lastSeq, let org = feed.org, !feed.backfilling else { return }
        feeds[key]!.backfilling = true
        b.actions.append(.read(.backfill(run: feed.runID, org: org, after: last, refreshRun: feed.refreshRun,
                                         ticket: feed.ticket, epoch: readEpoch)))
    }

    /// Reads the client's next page after its cursor, once its socket has drained: replay
    /// never outruns the client. Only the socket's queue counts here: the waves buffered
    /// for this very replay drop only after it, and waiting on them would never end.
    private mutating func replay(_ client: FeedClientID, _ key: String, _ b: inout Batch) {
        guard let sub = feeds[key]?.cursors[client], sub.phase == .replaying, clients[client]?.closed == false,
              let runID = feeds[key]?.runID else { return }
        if b.queued(client) > limits.maxQueuedBytesPerClient / 2 {
            b.actions.append(.wake(afterMilliseconds: 50, .replay(client: client, run: runID, ticket: sub.ticket)))
            return
        }
        b.actions.append(.read(.replay(client: client, run: runID, org: sub.org, after: sub.cursor.last, ticket: sub.ticket)))
    }

    /// A timer the feed asked for.
    public mutating func woke(_ wake: FeedWake, depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            switch wake {
            case .release:
                core.releaseScheduled = false
                core.releaseHeld(&b)
            case .replay(let client, let runID, let ticket):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.cursors[client]?.ticket == ticket else { return }
                core.replay(client, key, &b)
            case .snapshot(let client, let runID, let ticket):
                let key = core.topicKey(runID)
                guard let sub = core.feeds[key]?.cursors[client], sub.ticket == ticket,
                      case .snapshot(let since, _, _) = sub.phase, core.clients[client]?.closed == false else { return }
                b.actions.append(.read(.snapshot(client: client, run: runID, org: sub.org, since: since, ticket: ticket, epoch: core.readEpoch)))
            case .backfill(let runID, let ticket):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.ticket == ticket else { return }
                core.feeds[key]!.backfilling = false
                core.startBackfill(key, refreshRun: false, &b)
            }
        }
    }

    /// A table read the feed asked for has returned.
    public mutating func readDone(_ read: FeedRead, _ result: FeedReadResult, depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            switch (read, result) {
            case (.snapshot(let client, let runID, _, _, let ticket, let epoch), .snapshot(let snapshot)):
                core.snapshotRead(client, runID, ticket, epoch, snapshot, &b)
            case (.snapshot(let client, let runID, _, _, let ticket, _), _):
                core.snapshotFailed(client, runID, ticket, &b)
            case (.replay(let client, let runID, _, _, let ticket), .page(let page, _)):
                core.replayRead(client, runID, ticket, page, &b)
            case (.replay(let client, let runID, _, _, let ticket), _):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.cursors[client]?.ticket == ticket else { return }
                b.actions.append(.wake(afterMilliseconds: 500, .replay(client: client, run: runID, ticket: ticket)))
            case (.backfill(let runID, _, _, _, let ticket, let epoch), .page(let page, let runEvent)):
                core.backfillRead(runID, ticket, epoch, page, runEvent, &b)
            case (.backfill(let runID, _, _, _, let ticket, _), _):
                // Stays `backfilling` until the retry, so notifications keep queueing in order.
                guard core.feeds[core.topicKey(runID)]?.ticket == ticket else { return }
                b.actions.append(.wake(afterMilliseconds: 500, .backfill(run: runID, ticket: ticket)))
            }
        }
    }

    private mutating func snapshotFailed(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ b: inout Batch) {
        let key = topicKey(runID)
        guard var sub = feeds[key]?.cursors[client], sub.ticket == ticket,
              case .snapshot(let since, let attempts, let confirming) = sub.phase else { return }
        // A busy pool (checkout timeout) is retried, so the subscription never sits without
        // a read in flight; only a database that stays away is the client's to retry.
        if attempts + 1 < limits.snapshotAttempts {
            sub.phase = .snapshot(since: since, attempts: attempts + 1, confirming: confirming)
            feeds[key]!.cursors[client] = sub
            b.actions.append(.wake(afterMilliseconds: 250 << attempts, .snapshot(client: client, run: runID, ticket: ticket)))
            return
        }
        removeCursor(client, key)
        b.actions.append(.error(client, ProtocolError(.unavailable, "the database is not reachable; subscribe again"), topic: "run:" + key))
    }

    private mutating func snapshotRead(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ epoch: Int,
                                       _ snapshot: RunEventSnapshot?, _ b: inout Batch) {
        let key = topicKey(runID), topic = "run:" + key
        guard var sub = feeds[key]?.cursors[client], sub.ticket == ticket, clients[client]?.closed == false,
              case .snapshot(let since, let attempts, let confirming) = sub.phase else { return }
        guard let snapshot else {
            // Unknown and foreign runs answer alike, so ids of other orgs stay secret.
            removeCursor(client, key)
            b.actions.append(.error(client, ProtocolError(.notFound, "no such run"), topic: topic))
            return
        }
        let known = max(snapshot.runSeq, snapshot.items.hi, feeds[key]!.lastSeq ?? 0)
        if let since, since > known {
            // The client may hold an item whose notification beat this read to the table:
            // read once more before calling the position one the run has not reached.
            guard confirming else {
                sub.phase = .snapshot(since: since, attempts: attempts, confirming: true)
                feeds[key]!.cursors[client] = sub
                b.actions.append(.wake(afterMilliseconds: 100, .snapshot(client: client, run: runID, ticket: ticket)))
                return
            }
            removeCursor(client, key)
            b.actions.append(.error(client, ProtocolError(.badSince, "since \(since) is past the run's last sequence number \(known)"), topic: topic))
            return
        }
        if feeds[key]!.lastSeq == nil {
            feeds[key]!.lastSeq = snapshot.runSeq
            feeds[key]!.org = sub.org
            let queued = feeds[key]!.queued
            feeds[key]!.queued = []
            drain(queued, key, &b)
            // Commits between this read and LISTEN coming up were never notified.
            if missedNotifications(since: epoch) { startBackfill(key, refreshRun: true, &b) }
        }
        var text = Array("{\"type\":\"snapshot\",\"topic\":\"\(topic)\",\"seq\":\(snapshot.runSeq),\"run\":".utf8)
        text += snapshot.runEvent
        text += Array(",\"items\":".utf8) + snapshot.items.events.jsonArray() + [UInt8(ascii: "}")]
        if since == nil {
            // The items are read after the run row: they may reach past its seq.
            sub.cursor.advance(to: max(snapshot.runSeq, snapshot.items.hi))
        } else if !snapshot.items.events.isEmpty {
            sub.cursor.advance(to: snapshot.items.hi)
        }
        let more = since != nil && snapshot.items.events.count == limits.pageSize
        sub.phase = more ? .replaying : .live
        feeds[key]!.cursors[client] = sub
        send(client, FeedFrame(text, mergeable: false), events: snapshot.items.events.count + 1, &b)
        if more { replay(client, key, &b) } else { goLive(client, key, &b) }
        // Notifications queued during the read are in the topic's wave now; without a
        // flush here they would wait for the next notification, which may never come.
        flush(&b)
    }

    private mutating func replayRead(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ page: ItemEventPage, _ b: inout Batch) {
        let key = topicKey(runID)
        guard var sub = feeds[key]?.cursors[client], sub.ticket == ticket, sub.phase == .replaying,
              clients[client]?.closed == false else { return }
        // The page starts after the cursor; a page that does not is cut, never sent twice.
        let skip = sub.cursor.last >= page.lo ? Int(min(Int64(page.events.count), sub.cursor.last - page.lo + 1)) : 0
        let fresh = Array(page.events.dropFirst(skip))
        if !fresh.isEmpty {
            sub.cursor.advance(to: page.hi)
            feeds[key]!.cursors[client] = sub
            send(client, FeedFrame(fresh.jsonArray(), mergeable: true), events: fresh.count, &b)
        }
        if page.events.count == limits.pageSize { replay(client, key, &b) } else { goLive(client, key, &b) }
    }

    /// Sends what was buffered during the read (only what lies past the cursor) and
    /// switches the subscription to the live path.
    private mutating func goLive(_ client: FeedClientID, _ key: String, _ b: inout Batch) {
        guard var sub = feeds[key]?.cursors[client] else { return }
        let waves = sub.buffered
        clients[client]?.bufferedBytes -= sub.bufferedBytes
        sub.buffered = []
        sub.bufferedBytes = 0
        sub.phase = .live
        feeds[key]!.cursors[client] = sub
        for (index, wave) in waves.enumerated() {
            guard var sub = feeds[key]?.cursors[client], clients[client]?.closed == false else { return }
            if wave.hasItems && sub.cursor.placement(lo: wave.lo, hi: wave.hi) == .gap {
                // Still a gap (the topic backfilled past us): read it, keeping this wave
                // and the ones after it (they would otherwise be lost).
                sub.phase = .replaying
                feeds[key]!.cursors[client] = sub
                for later in waves[index...] { buffer(later, client, key, &b) }
                return replay(client, key, &b)
            }
            let fresh = wave.hasItems ? sub.cursor.newItems(lo: wave.lo, hi: wave.hi) : 0
            let frame = wave.frame(after: sub.cursor.last)
            if wave.hasItems { sub.cursor.advance(to: wave.hi) }
            feeds[key]!.cursors[client] = sub
            if let frame { send(client, FeedFrame(frame, mergeable: true), events: Int(fresh) + wave.extras.count, &b) }
        }
        // The topic may have handed out items this client's read did not reach and its
        // buffer never held (another subscriber's newer read answered first): read them.
        guard var sub = feeds[key]?.cursors[client], let feed = feeds[key], clients[client]?.closed == false else { return }
        let offered = feed.wave.hasItems ? feed.wave.lo - 1 : (feed.lastSeq ?? 0)
        if sub.cursor.last < offered {
            sub.phase = .replaying
            feeds[key]!.cursors[client] = sub
            replay(client, key, &b)
        }
    }

    private mutating func drain(_ notes: [ItemsNote], _ key: String, _ b: inout Batch) {
        for note in notes where feeds[key] != nil {
            if feeds[key]!.take(note) { startBackfill(key, refreshRun: false, &b) }
        }
        markDirty(key)
    }

    private mutating func backfillRead(_ runID: UUID, _ ticket: Int, _ epoch: Int, _ page: ItemEventPage, _ runEvent: [UInt8]?, _ b: inout Batch) {
        let key = topicKey(runID)
        guard feeds[key]?.ticket == ticket else { return }
        feeds[key]!.backfilling = false
        if feeds[key]!.refreshRun, !missedNotifications(since: epoch) { feeds[key]!.refreshRun = false }
        feeds[key]!.take(page)
        if let runEvent { feeds[key]!.takeRunEvent(runEvent) }
        markDirty(key)
        if page.events.count == limits.pageSize || missedNotifications(since: epoch) {
            // More to read, or LISTEN came back during the read: read on before the queue.
            flush(&b)
            startBackfill(key, refreshRun: false, &b)
            return
        }
        let queued = feeds[key]!.queued
        feeds[key]!.queued = []
        drain(queued, key, &b)
        flush(&b)
    }
}
