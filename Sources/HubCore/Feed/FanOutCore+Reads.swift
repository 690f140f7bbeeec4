import Foundation

/// Table reads and timers: snapshots, replay pages, backfills, the LISTEN epoch and their answers.
extension FanOutCore {

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

    mutating func startBackfill(_ key: String, refreshRun: Bool, _ b: inout Batch) {
        if refreshRun { feeds[key]?.refreshRun = true }
        guard let feed = feeds[key], let last = feed.lastSeq, let org = feed.org, !feed.backfilling else { return }
        feeds[key]!.backfilling = true
        if feed.refreshRun { feeds[key]!.runNotesAtRefresh = feed.runNotes }
        b.actions.append(.read(.backfill(run: feed.runID, org: org, after: last, refreshRun: feed.refreshRun,
                                         ticket: feed.ticket, epoch: readEpoch)))
    }

    /// Reads the client's next page after its cursor, once its socket has drained: replay
    /// never outruns the client. Only the socket's queue counts here: the waves buffered
    /// for this very replay drop only after it, and waiting on them would never end.
    mutating func replay(_ client: FeedClientID, _ key: String, _ b: inout Batch) {
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
                      case .snapshot(let since, _, let confirming) = sub.phase, core.clients[client]?.closed == false else { return }
                // A second look at the table must start after the wait: never a read asked before it.
                core.requestSnapshot(client, key, runID: runID, org: sub.org, since: since, ticket: ticket, mayJoin: !confirming, &b)
            case .backfill(let runID, let ticket):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.ticket == ticket else { return }
                core.feeds[key]!.backfilling = false
                core.startBackfill(key, refreshRun: false, &b)
            case .gap(let runID, let ticket):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.ticket == ticket, core.feeds[key]!.gapWaiting else { return }
                core.feeds[key]!.gapWaiting = false
                if core.feeds[key]!.fillFromQueue() {
                    core.gapsFilled += 1
                    core.markDirty(key)
                    core.flush(&b)
                } else {
                    core.startBackfill(key, refreshRun: false, &b)
                }
            }
        }
    }

    /// A table read the feed asked for has returned.
    public mutating func readDone(_ read: FeedRead, _ result: FeedReadResult, depth: @escaping QueueDepth) -> [FeedAction] {
        run(depth) { core, b in
            switch (read, result) {
            case (.snapshot, _):
                core.snapshotAnswered(read, result, &b)
            case (.replay(let client, let runID, _, _, let ticket), .page(let page, _)):
                core.replayRead(client, runID, ticket, page, &b)
            case (.replay(let client, let runID, _, _, let ticket), _):
                let key = core.topicKey(runID)
                guard core.feeds[key]?.cursors[client]?.ticket == ticket else { return }
                b.actions.append(.wake(afterMilliseconds: 500, .replay(client: client, run: runID, ticket: ticket)))
            case (.backfill(let runID, _, _, let refreshedRun, let ticket, let epoch), .page(let page, let runEvent)):
                core.backfillRead(runID, ticket, epoch, page, refreshedRun: refreshedRun, runEvent, &b)
            case (.backfill(let runID, _, _, _, let ticket, _), _):
                // Stays `backfilling` until the retry, so notifications keep queueing in order.
                guard core.feeds[core.topicKey(runID)]?.ticket == ticket else { return }
                b.actions.append(.wake(afterMilliseconds: 500, .backfill(run: runID, ticket: ticket)))
            }
        }
    }

    mutating func snapshotFailed(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ b: inout Batch) {
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

    /// `frame`: the snapshot frame, built by the first of the subscribers sharing the read.
    mutating func snapshotRead(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ epoch: Int,
                               _ snapshot: RunEventSnapshot?, frame: inout FeedFrame?, _ b: inout Batch) {
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
        if frame == nil {
            var text = Array("{\"type\":\"snapshot\",\"topic\":\"\(topic)\",\"seq\":\(snapshot.runSeq),\"run\":".utf8)
            text += snapshot.runEvent
            text += Array(",\"items\":".utf8) + snapshot.items.events.jsonArray() + [UInt8(ascii: "}")]
            frame = FeedFrame(text, mergeable: false)
        }
        if since == nil {
            // The items are read after the run row: they may reach past its seq.
            sub.cursor.advance(to: max(snapshot.runSeq, snapshot.items.hi))
        } else if !snapshot.items.events.isEmpty {
            sub.cursor.advance(to: snapshot.items.hi)
        }
        let more = since != nil && snapshot.items.events.count == limits.pageSize
        sub.phase = more ? .replaying : .live
        feeds[key]!.cursors[client] = sub
        send(client, frame!, events: snapshot.items.events.count + 1, &b)
        if more { replay(client, key, &b) } else { goLive(client, key, &b) }
        // Notifications queued during the read are in the topic's wave now; without a
        // flush here they would wait for the next notification, which may never come.
        flush(&b)
    }

    mutating func replayRead(_ client: FeedClientID, _ runID: UUID, _ ticket: Int, _ page: ItemEventPage, _ b: inout Batch) {
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
    mutating func goLive(_ client: FeedClientID, _ key: String, _ b: inout Batch) {
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

    /// One items notification into its topic: appended, left a moment for a gap to fill, or read.
    mutating func take(_ note: ItemsNote, _ key: String, _ b: inout Batch) {
        switch feeds[key]!.take(note) {
        case .done:
            break
        case .read:
            startBackfill(key, refreshRun: false, &b)
        case .gap:
            guard !feeds[key]!.gapWaiting else { return }
            feeds[key]!.gapWaiting = true
            b.actions.append(.wake(afterMilliseconds: limits.gapGraceMilliseconds, .gap(run: feeds[key]!.runID, ticket: feeds[key]!.ticket)))
        }
    }

    mutating func drain(_ notes: [ItemsNote], _ key: String, _ b: inout Batch) {
        for note in notes where feeds[key] != nil {
            take(note, key, &b)
        }
        markDirty(key)
    }

    mutating func backfillRead(_ runID: UUID, _ ticket: Int, _ epoch: Int, _ page: ItemEventPage, refreshedRun: Bool,
                               _ runEvent: [UInt8]?, _ b: inout Batch) {
        let key = topicKey(runID)
        guard feeds[key]?.ticket == ticket else { return }
        feeds[key]!.backfilling = false
        // Only a read that carried the run row settles a refresh: one asked for while a plain
        // backfill was in flight is still owed (else a state change made while LISTEN was
        // down is never sent).
        if feeds[key]!.refreshRun, refreshedRun, !missedNotifications(since: epoch) { feeds[key]!.refreshRun = false }
        feeds[key]!.take(page)
        // A run event notified after this read began is at least as new as the row it read.
        if refreshedRun, let runEvent, feeds[key]!.runNotes == feeds[key]!.runNotesAtRefresh { feeds[key]!.takeRunEvent(runEvent) }
        markDirty(key)
        if page.events.count == limits.pageSize || missedNotifications(since: epoch) || feeds[key]!.refreshRun {
            // More to read, LISTEN came back during the read, or the run row is still owed:
            // read on before the queue.
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
