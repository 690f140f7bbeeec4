import Foundation

/// One client's place in one run's stream (exists while subscribed): what it was sent, and
/// whether it is still being read from the table (its live waves wait in `buffered`, so
/// nothing is lost or sent twice) or follows the live waves.
public struct RunCursor: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Its first read (run row and first items) is in flight or waits for a retry.
        case snapshot(since: Int64?, attempts: Int, confirming: Bool)
        /// Reading its pages after `cursor` until it has caught up.
        case replaying
        /// Follows the topic's waves.
        case live
    }

    /// The last item sequence number this client has been sent.
    public internal(set) var cursor: StreamCursor
    public internal(set) var phase: Phase
    /// Identifies this subscription: a read answered for an older one is ignored.
    public let ticket: Int
    /// The subscriber's org: every read for it is scoped to it.
    public let org: UUID
    /// Waves that arrived while it was not live, and their bytes.
    var buffered: [EventWave] = []
    var bufferedBytes = 0

    init(cursor: StreamCursor, since: Int64?, ticket: Int, org: UUID) {
        self.cursor = cursor
        self.phase = .snapshot(since: since, attempts: 0, confirming: false)
        self.ticket = ticket
        self.org = org
    }

    public var isLive: Bool { phase == .live }
}
