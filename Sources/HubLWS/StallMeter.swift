import Foundation

/// The longest single callback a loop ran since it was last read: how long everything
/// else on that loop (every other connection, every timer) had to wait. Loop thread only.
package struct StallMeter {
    private var longestNanoseconds: UInt64 = 0

    package init() {}

    /// A monotonic timestamp to pass back to `record(since:)`.
    @inline(__always)
    package static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// Counts one callback that began at `start`.
    @inline(__always)
    package mutating func record(since start: UInt64) {
        let elapsed = DispatchTime.now().uptimeNanoseconds &- start
        if elapsed > longestNanoseconds { longestNanoseconds = elapsed }
    }

    /// The longest callback since the previous `take()`, and starts over.
    package mutating func take() -> Duration {
        defer { longestNanoseconds = 0 }
        return .nanoseconds(Int64(clamping: longestNanoseconds))
    }
}
