import Foundation

/// The per-client bound and held state updates: what `FanOutCore` sends, buffers, holds or closes 4008.
extension FanOutCore {

    /// Queues `frame` unless the client is over its bound, which closes it (4008).
    mutating func send(_ client: FeedClientID, _ frame: FeedFrame, events: Int, _ b: inout Batch) {
        guard let queue = clients[client], !queue.closed else { return }
        let count = frame.bytes.count
        guard queue.admits(count, queued: b.queued(client), bound: limits.maxQueuedBytesPerClient) else {
            return closeSlow(client, adding: count, &b)
        }
        b.actions.append(.send(client, frame, events: events))
        b.add(count, for: client)
    }

    /// Keeps a wave for a subscription whose table read is in flight; counted against the
    /// client's one bound, so many replaying subscriptions cannot add up unnoticed.
    mutating func buffer(_ wave: EventWave, _ client: FeedClientID, _ key: String, _ b: inout Batch) {
        guard clients[client]?.closed == false, feeds[key]?.cursors[client] != nil else { return }
        feeds[key]!.cursors[client]!.buffered.append(wave)
        feeds[key]!.cursors[client]!.bufferedBytes += wave.byteCount
        clients[client]!.bufferedBytes += wave.byteCount
        if clients[client]!.bytesHeld(queued: b.queued(client)) > limits.maxQueuedBytesPerClient { closeSlow(client, &b) }
    }

    /// Closes a client over its bound (`adding`: the frame that did not fit) with 4008, and
    /// frees what it holds now, not when the close completes: it will never be sent.
    mutating func closeSlow(_ client: FeedClientID, adding: Int = 0, _ b: inout Batch) {
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

    mutating func hold(_ client: FeedClientID, key: String, _ event: [UInt8], _ b: inout Batch) {
        guard clients[client]?.closed == false else { return }
        clients[client]!.hold(key: key, event)
        afterHolding(client, &b)
    }

    mutating func hold(_ client: FeedClientID, warnings: [[UInt8]], _ b: inout Batch) {
        guard !warnings.isEmpty, clients[client]?.closed == false else { return }
        clients[client]!.hold(warnings: warnings)
        afterHolding(client, &b)
    }

    mutating func afterHolding(_ client: FeedClientID, _ b: inout Batch) {
        holding.insert(client)
        if clients[client]!.bytesHeld(queued: b.queued(client)) > limits.maxQueuedBytesPerClient { return closeSlow(client, &b) }
        if !releaseScheduled {
            releaseScheduled = true
            b.actions.append(.wake(afterMilliseconds: 50, .release))
        }
    }

    /// Sends held updates, one frame per client, once its queue has drained below the threshold.
    mutating func releaseHeld(_ b: inout Batch) {
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
}
