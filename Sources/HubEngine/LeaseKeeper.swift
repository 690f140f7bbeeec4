import Foundation
import HubCore
import HubStore
import Logging

/// Renews one run's lease on a thread of its own, a third of the lease after the last renewal
/// (a commit under the lease counts as one), whatever the executor is doing: a paid call slower
/// than the lease does not let it lapse, so no other process takes the run and pays again.
/// When the fence no longer matches (paused, cancelled, taken over) it rings `lost`.
// @unchecked Sendable: `window`, `isLost` and `stopped` are guarded by `lock`; the thread owns nothing else.
final class LeaseKeeper: @unchecked Sendable {
    private let clock: any TimeSource
    private let renew: @Sendable () throws -> Bool
    private let lost: Alarm
    private let logger: Logger
    private let label: String
    private let stopAlarm = Alarm()
    private let exited = DispatchSemaphore(value: 0)
    private let timeout: Duration
    private let lock = NSLock()
    private var window: LeaseWindow
    private var leaseLost = false
    private var started = false

    /// `renew` extends the lease in the database (false: the fence no longer matches);
    /// `lost` is rung when it answers false.
    init(window: LeaseWindow, clock: any TimeSource, label: String, logger: Logger, lost: Alarm,
         renew: @escaping @Sendable () throws -> Bool) {
        self.window = window
        timeout = window.timeout
        self.clock = clock
        self.label = label
        self.logger = logger
        self.lost = lost
        self.renew = renew
    }

    func start() {
        lock.withLock { started = true }
        let t = Thread { [self] in
            loop()
            exited.signal()
        }
        t.name = "lease-\(label)"
        t.start()
    }

    /// Stops heartbeating and waits (at most a lease) for a renewal in flight, so none lands
    /// after the caller gives the lease back.
    func stop() {
        stopAlarm.ring()
        if lock.withLock({ started }) { _ = exited.wait(timeout: .now() + timeout.seconds) }
    }

    /// Stops heartbeating without waiting (what a crash leaves: the lease lapses).
    func halt() { stopAlarm.ring() }

    /// The executor's commit renewed the lease (sent at `sentAt`).
    func renewed(sentAt: Duration) { lock.withLock { window.renewed(sentAt: sentAt) } }

    var isLost: Bool { lock.withLock { leaseLost } }

    /// Whether a call bounded by `callTimeout` would end before the lease could lapse.
    func covers(callTimeout: Duration) -> Bool {
        let now = clock.now
        return lock.withLock { window.covers(callTimeout: callTimeout, startingAt: now) }
    }

    /// Renews now, on the caller's thread. False once the lease is lost.
    func renewNow() throws -> Bool {
        let sent = clock.now
        guard try renew() else {
            markLost()
            return false
        }
        renewed(sentAt: sent)
        return true
    }

    private func markLost() {
        lock.withLock { leaseLost = true }
        lost.ring()
    }

    private func loop() {
        var retryAt: Duration?
        while true {
            let due = retryAt ?? lock.withLock { window.nextHeartbeat }
            guard clock.sleep(until: due, or: stopAlarm) else { return }
            // A commit may have renewed the lease while this thread slept.
            if retryAt == nil, clock.now < lock.withLock({ window.nextHeartbeat }) { continue }
            retryAt = nil
            do {
                guard try renewNow() else {
                    logger.notice("run \(label): lease no longer held (paused, cancelled or taken over)")
                    return
                }
            } catch {
                // The database is unreachable for now: try again soon; the lease may lapse,
                // in which case the fence refuses this owner's writes.
                logger.warning("run \(label): heartbeat failed (\(error)); retrying")
                retryAt = clock.now + timeout / 10
            }
        }
    }
}
