/// Bounds of an item sequence number as it crosses the protocol. Sequence numbers count a
/// run's items from 1; 2^53 − 1 is the largest integer a JSON reader (JavaScript's Number)
/// holds exactly, so nothing above it can be a position a client was ever sent. Bounding
/// every client- or payload-supplied number to this range at the edge leaves all cursor
/// arithmetic (`+ 1`, `hi − lo + 1`) far from Int64's limits.
public enum SequenceNumber {
    /// The largest sequence number the hub accepts from a client or a NOTIFY payload.
    public static let max: Int64 = (1 << 53) - 1
    /// 0 (before the first item) through `max`.
    public static let range: ClosedRange<Int64> = 0...max

    /// `value` when it is a valid position, else nil.
    public static func bounded(_ value: Int64) -> Int64? { range.contains(value) ? value : nil }
}
