import Foundation

/// Monotonic time as the engine paces lease heartbeats and retry waits by it: the system's in
/// production, one a test moves by hand (so no test sleeps to let a timer fire).
public protocol TimeSource: Sendable {
    /// Time since a fixed, arbitrary origin.
    var now: Duration { get }
    /// Blocks until `now` reaches `deadline` (true) or `alarm` rings (false), whichever comes first.
    func sleep(until deadline: Duration, or alarm: Alarm) -> Bool
}

/// The process's monotonic clock.
public struct SystemTimeSource: TimeSource {
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { ContinuousClock.now - Self.origin }

    public func sleep(until deadline: Duration, or alarm: Alarm) -> Bool {
        while true {
            let left = deadline - now
            if left <= .zero { return !alarm.isRung }
            if alarm.wait(upTo: left) { return false }
        }
    }
}

/// Ends a sleep early: rung once (stop, lease lost), it stays rung. `poke` wakes a sleeper
/// without ringing, so it looks at its clock again (a hand-moved clock does this).
// @unchecked Sendable: `rung` and `pokes` are guarded by `condition`.
public final class Alarm: @unchecked Sendable {
    private let condition = NSCondition()
    private var rung = false
    private var pokes = 0

    public init() {}

    public func ring() {
        condition.withLock { rung = true }
        condition.broadcast()
    }

    public var isRung: Bool { condition.withLock { rung } }

    public func poke() {
        condition.withLock { pokes += 1 }
        condition.broadcast()
    }

    /// Pokes so far: pass it to `wait` to count a poke that lands before the wait begins.
    public var pokeCount: Int { condition.withLock { pokes } }

    /// Waits at most `limit` of real time for a ring or a poke after `pokeCount` `since`
    /// (default: from now on); true once rung.
    public func wait(upTo limit: Duration, since: Int? = nil) -> Bool {
        condition.withLock {
            let seen = since ?? pokes
            let until = Date().addingTimeInterval(max(0, Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18))
            while !rung && pokes == seen {
                if !condition.wait(until: until) { break }
            }
            return rung
        }
    }
}
