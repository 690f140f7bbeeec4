/// A subscriber's position in one run's item stream: the last sequence number it was sent,
/// and the decisions the fan-out makes against it when a wave of items `lo...hi` arrives.
/// Pure and total: no input traps, whatever the numbers (the fuzzer drives it with
/// Int64.min/max); positions outside `SequenceNumber.range` are refused at construction.
public struct StreamCursor: Sendable, Equatable, CustomStringConvertible {
    /// The last item sequence number sent (0: none yet).
    public private(set) var last: Int64

    /// A cursor at `since`; nil when `since` is not a valid position.
    public init?(since: Int64) {
        guard let bounded = SequenceNumber.bounded(since) else { return nil }
        last = bounded
    }

    /// Where a wave of items `lo...hi` stands relative to this cursor.
    public enum Placement: Sendable, Equatable {
        /// Starts right after the cursor: send it whole.
        case next
        /// Overlaps what was sent: skip the first `skip` items (skip ≥ 1), send the rest.
        case overlapping(skip: Int64)
        /// Entirely already sent.
        case alreadySent
        /// Starts after a gap: the gap must be read from the table first.
        case gap
        /// Not a valid item range (hi < lo or outside the sequence range): ignore it.
        case invalid
    }

    /// Classifies the wave `lo...hi`. Non-trapping for every Int64 pair.
    public func placement(lo: Int64, hi: Int64) -> Placement {
        guard lo <= hi, SequenceNumber.range.contains(lo), SequenceNumber.range.contains(hi) else { return .invalid }
        // last and lo are both within 0...2^53-1: these differences cannot overflow.
        if lo == last + 1 { return .next }
        if lo > last { return .gap }
        if hi <= last { return .alreadySent }
        return .overlapping(skip: last - lo + 1)
    }

    /// Items of `lo...hi` still to send after this cursor (0 when none or invalid).
    public func newItems(lo: Int64, hi: Int64) -> Int64 {
        switch placement(lo: lo, hi: hi) {
        case .next: return hi - lo + 1
        case .overlapping(let skip): return hi - lo + 1 - skip
        case .alreadySent, .gap, .invalid: return 0
        }
    }

    /// Moves the cursor forward to `seq`; never backwards, and never past the valid range.
    public mutating func advance(to seq: Int64) {
        guard let bounded = SequenceNumber.bounded(seq), bounded > last else { return }
        last = bounded
    }

    /// Whether the run (whose newest item is `runSeq`) has reached this cursor: a `since`
    /// beyond the run's last item names a position the client cannot have been sent.
    public func isWithin(runSeq: Int64) -> Bool { last <= runSeq }

    public var description: String { "cursor@\(last)" }
}
