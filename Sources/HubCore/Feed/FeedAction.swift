import Foundation

/// A WebSocket client as the feed knows it (the session id).
public typealias FeedClientID = UInt64

/// How many bytes a client's socket still has queued, asked at the moment of a decision.
public typealias QueueDepth = (FeedClientID) -> Int

/// Frame bytes built once and handed to every client that gets them (the shell turns one
/// `FeedFrame` into one transport frame, however many clients it goes to).
public final class FeedFrame: Sendable {
    public let bytes: [UInt8]
    /// A JSON array the transport may merge with neighbouring array frames.
    public let mergeable: Bool
    public init(_ bytes: [UInt8], mergeable: Bool) {
        self.bytes = bytes
        self.mergeable = mergeable
    }
}

/// A page of a run's item events, oldest first: `lo...hi` are the first and last sequence
/// numbers (`hi < lo` when the page is empty).
public struct ItemEventPage: Sendable, Equatable {
    public var events: [[UInt8]]
    public var lo: Int64
    public var hi: Int64
    public init(events: [[UInt8]], lo: Int64, hi: Int64) {
        self.events = events
        self.lo = lo
        self.hi = hi
    }
    public static let empty = ItemEventPage(events: [], lo: 0, hi: -1)
}

/// A run topic's first read for one subscriber: the run event at the run's sequence
/// number, and the items sent with it (a page after `since`, or the newest few).
public struct RunEventSnapshot: Sendable, Equatable {
    public var runEvent: [UInt8]
    public var runSeq: Int64
    public var items: ItemEventPage
    public init(runEvent: [UInt8], runSeq: Int64, items: ItemEventPage) {
        self.runEvent = runEvent
        self.runSeq = runSeq
        self.items = items
    }
}

/// A table read the feed asks for. `epoch` is the LISTEN epoch the read began in (-1 while
/// nothing listened): a read that spans an epoch change may have missed notifications.
public enum FeedRead: Sendable, Equatable {
    /// The run row and the subscriber's first items (`RunEventSnapshot`, nil: no such run in `org`).
    case snapshot(client: FeedClientID, run: UUID, org: UUID, since: Int64?, ticket: Int, epoch: Int)
    /// The subscriber's next page after `after`.
    case replay(client: FeedClientID, run: UUID, org: UUID, after: Int64, ticket: Int)
    /// The topic's missed items after `after`, and the run event when `refreshRun`.
    case backfill(run: UUID, org: UUID, after: Int64, refreshRun: Bool, ticket: Int, epoch: Int)
}

/// What a table read returned.
public enum FeedReadResult: Sendable, Equatable {
    case snapshot(RunEventSnapshot?)
    case page(ItemEventPage, runEvent: [UInt8]?)
    case failed
}

/// Something the feed wants to be asked again about later (a timer in the shell).
public enum FeedWake: Sendable, Equatable, Hashable {
    /// Retry a subscriber's first read.
    case snapshot(client: FeedClientID, run: UUID, ticket: Int)
    /// Read the subscriber's next page once its socket has drained.
    case replay(client: FeedClientID, run: UUID, ticket: Int)
    /// Retry a topic's failed backfill.
    case backfill(run: UUID, ticket: Int)
    /// Read a topic's gap if it has not filled by now.
    case gap(run: UUID, ticket: Int)
    /// Send held state updates to clients whose socket has drained.
    case release
}

/// What the shell must do, in order.
public enum FeedAction: Sendable {
    /// Queue these bytes on this client's socket.
    case send(FeedClientID, FeedFrame, events: Int)
    /// Answer a client with an error frame about `topic`.
    case error(FeedClientID, ProtocolError, topic: String)
    /// Read from the tables off the loop, then hand the result to `FanOutCore.readDone`.
    case read(FeedRead)
    /// Call `FanOutCore.woke` after this many milliseconds.
    case wake(afterMilliseconds: Int, FeedWake)
    /// Close this client with 4008: it holds `bytes`, over its bound; it may resume with `since`.
    case closeSlow(FeedClientID, bytes: Int)
}

/// The numbers the feed decides by.
public struct FeedLimits: Sendable {
    /// Items per table read (replay page, backfill page).
    public var pageSize: Int
    /// Items a snapshot without `since` carries.
    public var snapshotItems: Int
    /// What the hub keeps for one client: queued frames, buffered waves and held updates.
    public var maxQueuedBytesPerClient: Int
    /// A failed snapshot read is retried this many times before the client hears `unavailable`.
    public var snapshotAttempts: Int

    /// Queue depth from which state updates are held and coalesced.
    public var coalesceThreshold: Int
    /// How long items behind a gap wait for the missing notification before the gap is read.
    public var gapGraceMilliseconds: Int

    public init(pageSize: Int = 500, snapshotItems: Int = 50, maxQueuedBytesPerClient: Int, snapshotAttempts: Int = 4,
                coalesceThreshold: Int? = nil, gapGraceMilliseconds: Int = 20) {
        self.gapGraceMilliseconds = gapGraceMilliseconds
        self.pageSize = pageSize
        self.snapshotItems = snapshotItems
        self.maxQueuedBytesPerClient = maxQueuedBytesPerClient
        self.snapshotAttempts = snapshotAttempts
        self.coalesceThreshold = coalesceThreshold ?? max(4096, maxQueuedBytesPerClient / 8)
    }
}
