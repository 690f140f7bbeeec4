import Foundation

/// An items notification as the feed keeps it: its sequence range and, when the trigger
/// inlined them, the events (comma-separated objects, a slice of the payload).
public struct ItemsNote: Sendable, Equatable {
    public var lo: Int64
    public var hi: Int64
    public var events: ArraySlice<UInt8>?
    public init(lo: Int64, hi: Int64, events: ArraySlice<UInt8>?) {
        self.lo = lo
        self.hi = hi
        self.events = events
    }
}

/// One run topic (exists while it has subscribers): how far the hub has seen the run's
/// items contiguously, the wave being collected for the next flush, and its subscribers.
public struct RunFeed: Sendable {
    public let runID: UUID
    public let key: String
    /// Tells this topic from an older one of the same run (a read answered late is ignored).
    public let ticket: Int
    /// Highest sequence number seen contiguously; nil until a subscriber's first read
    /// says where the table stands.
    public internal(set) var lastSeq: Int64?
    /// The org of the first subscriber whose read found the run: backfills are scoped to it.
    public internal(set) var org: UUID?
    /// A read of missed items is in flight; notifications wait in `queued` meanwhile.
    public internal(set) var backfilling = false
    /// The next backfill also re-reads the run event (after a LISTEN outage).
    var refreshRun = false
    /// Run events notified so far. A run event read from the table is only newer than
    /// the last notified one when none was notified after the read began: every change
    /// after LISTEN came up is notified, in commit order, with the whole row.
    var runNotes = 0
    /// `runNotes` when the backfill that re-reads the run event was asked for.
    var runNotesAtRefresh = 0
    public internal(set) var queued: [ItemsNote] = []
    public internal(set) var wave = EventWave()
    /// Latest run event of this drain (coalesced: latest wins).
    public internal(set) var pendingRun: [UInt8]?
    public internal(set) var pendingWarnings: [[UInt8]] = []
    /// The run event of the wave being delivered (coalescing key "run:<id>").
    public internal(set) var latestRunEvent: [UInt8]?
    public internal(set) var dirty = false
    public internal(set) var cursors: [FeedClientID: RunCursor] = [:]
    /// First reads in flight that a newcomer may still share, by question (the value is the
    /// asker's ticket); closed by the next wave.
    var openQuestions: [SnapshotQuestion: Int] = [:]

    init(runID: UUID, key: String, ticket: Int) {
        self.runID = runID
        self.key = key
        self.ticket = ticket
    }

    /// What taking a notification needs next.
    enum Take: Equatable {
        case done
        /// Items ahead of a gap: another statement's notification may still be on its way
        /// (two writers commit in another order than they took their sequence numbers).
        case gap
        /// The table must be read (a statement too large to inline its events, or items
        /// overlapping what was seen).
        case read
    }

    /// A gap is being given a moment to fill before the table is read.
    var gapWaiting = false

    /// Appends a notification's items to the wave, with whatever waited behind a gap it fills.
    mutating func take(_ note: ItemsNote) -> Take {
        guard let last = lastSeq, !backfilling else {
            queued.append(note)
            return .done
        }
        if note.hi <= last { return .done }
        // lo is a bounded sequence number (≥ 0), so `lo - 1` cannot overflow, while
        // `last + 1` could for a table value near Int64.max.
        if note.lo - 1 == last, let events = note.events {
            append(events, note)
            fillFromQueue()
            return .done
        }
        queued.append(note)
        return note.events != nil && note.lo - 1 > last ? .gap : .read
    }

    private mutating func append(_ events: ArraySlice<UInt8>, _ note: ItemsNote) {
        wave.append(items: events, lo: note.lo, hi: note.hi)
        lastSeq = note.hi
        dirty = true
    }

    /// Takes the queued notifications that now follow on, in order, and drops the ones seen.
    /// True when the queue is empty: every gap filled without a read.
    @discardableResult
    mutating func fillFromQueue() -> Bool {
        guard !queued.isEmpty, !backfilling else { return queued.isEmpty }
        while let last = lastSeq, let i = queued.firstIndex(where: { $0.lo - 1 == last && $0.events != nil }) {
            let note = queued.remove(at: i)
            append(note.events!, note)
        }
        if let last = lastSeq { queued.removeAll { $0.hi <= last } }
        return queued.isEmpty
    }

    /// Adds a page read from the table after `lastSeq`.
    mutating func take(_ page: ItemEventPage) {
        guard !page.events.isEmpty, let last = lastSeq, page.hi > last else { return }
        wave.append(items: page.events.joinedWithCommas()[...], lo: page.lo, hi: page.hi)
        lastSeq = page.hi
        dirty = true
    }

    mutating func takeRunEvent(_ event: [UInt8]) {
        runNotes += 1
        pendingRun = event
        dirty = true
    }

    mutating func takeWarning(_ event: [UInt8]) {
        pendingWarnings.append(event)
        dirty = true
    }

    /// The wave to deliver now (items, then warnings and the latest run event); starts a new one.
    mutating func takeWave() -> EventWave {
        dirty = false
        var out = wave
        wave = EventWave()
        out.extras = pendingWarnings + (pendingRun.map { [$0] } ?? [])
        latestRunEvent = pendingRun
        pendingWarnings = []
        pendingRun = nil
        return out
    }
}
