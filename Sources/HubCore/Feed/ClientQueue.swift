/// Everything the hub keeps for one client besides its socket's own queue: waves buffered
/// for its replaying run subscriptions and state updates held while it is backed up. With
/// the socket's queued bytes this is the one number the per-client bound applies to.
public struct ClientQueue: Sendable, Equatable {
    /// Bytes of waves buffered across this client's run subscriptions.
    public internal(set) var bufferedBytes = 0
    /// State updates held by key ("run:<id>", "badge"): a newer one replaces an older one,
    /// so a slow client gets the latest state instead of every intermediate step.
    public internal(set) var held: [String: [UInt8]] = [:]
    /// Keys of `held` in the order they were first held (the frame keeps that order).
    var heldOrder: [String] = []
    /// Budget warnings are events, not state: each is kept.
    public internal(set) var heldWarnings: [[UInt8]] = []
    /// Bytes of `held` (keys included) and `heldWarnings`.
    public internal(set) var heldBytes = 0
    /// Closed for being over its bound: nothing more is queued for it.
    public internal(set) var closed = false
    /// Run keys this client is subscribed to.
    public internal(set) var runs: Set<String> = []

    public init() {}

    public var isHolding: Bool { !held.isEmpty || !heldWarnings.isEmpty }

    /// The bytes counted against the bound when the socket has `queued` bytes.
    public func bytesHeld(queued: Int) -> Int { queued + bufferedBytes + heldBytes }

    /// Whether a frame of `count` bytes may be queued. A client holding nothing takes any
    /// frame: one wave bigger than the bound (a busy moment merges many events) says
    /// nothing about whether the client reads.
    public func admits(_ count: Int, queued: Int, bound: Int) -> Bool {
        glance.admits(count, queued: queued, bound: bound)
    }

    var glance: ClientGlance {
        ClientGlance(closed: closed, isHolding: isHolding, bufferedBytes: bufferedBytes, heldBytes: heldBytes)
    }

    mutating func hold(key: String, _ event: [UInt8]) {
        if let replaced = held.updateValue(event, forKey: key) {
            heldBytes += event.count - replaced.count
        } else {
            heldOrder.append(key)
            heldBytes += event.count + key.utf8.count
        }
    }

    mutating func hold(warnings: [[UInt8]]) {
        heldWarnings += warnings
        heldBytes += warnings.reduce(0) { $0 + $1.count }
    }

    /// Takes the held updates as one list of events (warnings first) and forgets them.
    mutating func takeHeld() -> [[UInt8]] {
        let events = heldWarnings + heldOrder.compactMap { held[$0] }
        held = [:]
        heldOrder = []
        heldWarnings = []
        heldBytes = 0
        return events
    }

    /// Frees what it holds (it will never be sent) and refuses further frames.
    mutating func close() {
        closed = true
        _ = takeHeld()
    }
}

/// The numbers of a `ClientQueue` the fan-out's fast path decides by, read without copying
/// the queue's collections.
struct ClientGlance {
    var closed: Bool
    var isHolding: Bool
    var bufferedBytes: Int
    var heldBytes: Int

    /// See `ClientQueue.admits`.
    func admits(_ count: Int, queued: Int, bound: Int) -> Bool {
        let holding = queued + bufferedBytes + heldBytes
        return holding == 0 || holding + count <= bound
    }
}

extension ClientTable where Value == ClientQueue {
    func glance(_ id: FeedClientID) -> ClientGlance? {
        peek(id) { $0.glance }
    }
}
