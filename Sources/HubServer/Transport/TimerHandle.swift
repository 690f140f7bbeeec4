import CLibWebSockets
import Foundation

/// A one-shot timer on the loop (`HubLoop.schedule(after:_:)`), backed by an lws sorted
/// usec list entry. Loop thread only.
public final class TimerHandle {
    /// Offset of the owner pointer stored right after the lws_sorted_usec_list_t.
    static let ownerOffset: Int = {
        let size = MemoryLayout<lws_sorted_usec_list_t>.size
        let align = MemoryLayout<UnsafeMutableRawPointer>.alignment
        return (size + align - 1) / align * align
    }()

    /// [lws_sorted_usec_list_t][TimerHandle address]; zeroed as lws requires.
    let sul: UnsafeMutablePointer<lws_sorted_usec_list_t>
    private let storage: UnsafeMutableRawPointer
    weak var loop: HubLoop?
    var work: (() -> Void)?
    /// True while lws holds the entry in its schedule (the loop retains us meanwhile).
    var isScheduled = false

    /// Loop thread (from `HubLoop.schedule`).
    init(loop: HubLoop, work: @escaping () -> Void) {
        self.loop = loop
        self.work = work
        let bytes = TimerHandle.ownerOffset + MemoryLayout<UnsafeMutableRawPointer>.size
        storage = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        sul = storage.bindMemory(to: lws_sorted_usec_list_t.self, capacity: 1)
        storage.advanced(by: TimerHandle.ownerOffset)
            .storeBytes(of: Unmanaged.passUnretained(self).toOpaque(), as: UnsafeMutableRawPointer.self)
    }

    deinit {
        // Scheduled timers are retained by the loop, so lws no longer references `sul` here.
        storage.deallocate()
    }

    /// Whether the timer is still waiting to fire. Loop thread.
    public var isPending: Bool { isScheduled }

    /// Cancels the timer if it has not fired yet. Loop thread; idempotent.
    public func cancel() {
        guard isScheduled, let loop else { return }
        loop.cancelTimer(self)
    }
}
