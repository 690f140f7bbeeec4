/// How long this process may still count on a run's lease, by its own monotonic clock, and
/// when to renew it. A renewal is dated when it was sent, never when its answer came back: the
/// database's expiry can only be later, so the window errs on the short side.
public struct LeaseWindow: Sendable, Equatable {
    /// The lease's length: an owner silent for this long loses the run.
    public let timeout: Duration
    /// Until when the lease is held for certain.
    public private(set) var heldUntil: Duration
    private var lastRenewalSent: Duration

    /// A lease claimed by a request sent at `claimedAt`.
    public init(timeout: Duration, claimedAt: Duration) {
        self.timeout = timeout
        heldUntil = claimedAt + timeout
        lastRenewalSent = claimedAt
    }

    /// A renewal (a heartbeat or a commit under the lease) sent at `sentAt` succeeded.
    /// Renewals may answer out of order; the latest send counts.
    public mutating func renewed(sentAt: Duration) {
        lastRenewalSent = max(lastRenewalSent, sentAt)
        heldUntil = lastRenewalSent + timeout
    }

    /// A third of the lease after the last renewal: two more heartbeats could fail before it lapses.
    public var nextHeartbeat: Duration { lastRenewalSent + timeout / 3 }

    /// Whether a call started at `now` and bounded by `callTimeout` ends while the lease is
    /// still held, even if no heartbeat succeeds meanwhile: only then may a paid call start.
    public func covers(callTimeout: Duration, startingAt now: Duration) -> Bool {
        now + callTimeout < heldUntil
    }
}
