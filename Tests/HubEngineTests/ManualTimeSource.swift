import Foundation
@testable import HubEngine

/// A clock the test moves by hand: a sleeper wakes once `advance` passes its deadline (or its
/// alarm rings). `deadlines` shows where sleepers are parked, so a test can wait for a timer to
/// be set instead of sleeping for it to fire.
// @unchecked Sendable: `current` and `sleepers` are guarded by `lock`.
final class ManualTimeSource: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Duration = .zero
    private var sleepers: [UUID: (deadline: Duration, alarm: Alarm)] = [:]

    var now: Duration { lock.withLock { current } }

    /// The deadlines of the sleepers parked now, earliest first.
    var deadlines: [Duration] { lock.withLock { sleepers.values.map(\.deadline).sorted() } }

    func advance(to instant: Duration) {
        let alarms = lock.withLock { () -> [Alarm] in
            current = max(current, instant)
            return sleepers.values.map(\.alarm)
        }
        for alarm in alarms { alarm.poke() }
    }

    func advance(by step: Duration) { advance(to: now + step) }

    func sleep(until deadline: Duration, or alarm: Alarm) -> Bool {
        let id = UUID()
        lock.withLock { sleepers[id] = (deadline, alarm) }
        defer { lock.withLock { sleepers[id] = nil } }
        while true {
            let seen = alarm.pokeCount
            if alarm.isRung { return false }
            if now >= deadline { return true }
            // Woken by a poke (the clock moved) or a ring; the bound only limits a lost wake-up.
            _ = alarm.wait(upTo: .seconds(1), since: seen)
        }
    }
}
