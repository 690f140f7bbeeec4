import CLibWebSockets
import Foundation

extension HubLoop {
    /// Runs `work` on the loop thread after `delay` (lws_sul_schedule). Loop thread.
    /// Keep the handle to cancel; dropping it does not cancel.
    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping () -> Void) -> TimerHandle {
        preconditionOnLoop()
        let handle = TimerHandle(loop: self, work: work)
        guard let ctx = core.context else { return handle }  // stopping: never fires
        timers[ObjectIdentifier(handle)] = handle
        handle.isScheduled = true
        lws_sul_schedule(ctx, 0, handle.sul, timerFired, microseconds(delay))
        return handle
    }

    /// Loop thread.
    func cancelTimer(_ handle: TimerHandle) {
        preconditionOnLoop()
        guard handle.isScheduled else { return }
        handle.isScheduled = false
        lws_sul_cancel(handle.sul)
        handle.work = nil
        timers.removeValue(forKey: ObjectIdentifier(handle))
    }

    /// Loop thread (from the lws_sul callback).
    func fireTimer(_ handle: TimerHandle) {
        guard handle.isScheduled, let work = handle.work else { return }
        handle.isScheduled = false
        handle.work = nil
        // `handle` stays alive through this local while `work` runs.
        timers.removeValue(forKey: ObjectIdentifier(handle))
        work()
    }

}

/// lws_sul callback (loop thread): the TimerHandle's address sits right after the sul.
let timerFired: @convention(c) (UnsafeMutablePointer<lws_sorted_usec_list_t>?) -> Void = { sul in
    guard let sul else { return }
    let slot = UnsafeMutableRawPointer(sul).advanced(by: TimerHandle.ownerOffset)
    guard let owner = slot.load(as: UnsafeMutableRawPointer?.self) else { return }
    let handle = Unmanaged<TimerHandle>.fromOpaque(owner).takeUnretainedValue()
    guard let loop = handle.loop else { return }
    let start = StallMeter.now()
    defer { loop.core.stall.record(since: start) }
    loop.fireTimer(handle)
}
