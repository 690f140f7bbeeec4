import CLibWebSockets
import Foundation

/// Why `LoopCore.start` refused.
package enum LoopStartError: Error, Equatable {
    /// `start()` after `start()` or after `stop()`.
    case notStartable
    case threadCreationFailed(Int32)
}

/// The machinery shared by `HubLoop` and `WebSocketClientLoop`: one lws context, one service
/// thread, the locked hand-off queue, and an idempotent, joining stop.
///
/// Threading: `post`, `stop`, `isOnLoop` are callable from any thread; `drainPending`,
/// `serviceOnce` and the hooks run on the loop thread only.
// @unchecked Sendable: pending work is guarded by its lock; lws state is touched on the loop thread only.
package final class LoopCore: @unchecked Sendable {
    package enum Lifecycle { case created, running, stopped }

    /// Identity stored in `loopThreadKey` on the service thread (this object's address).
    package private(set) var token: UnsafeMutableRawPointer!
    private let threadName: String
    /// The owning loop, kept alive by the service thread while it runs (its address is the
    /// lws context user pointer, so it must not go away under a running thread).
    private var owner: AnyObject?

    private let lock = NSLock()
    // --- guarded by `lock`
    private var contextStorage: OpaquePointer?
    private var pending: [@Sendable () -> Void] = []
    private var lifecycle: Lifecycle = .created
    private var stopRequested = false
    private var thread: pthread_t?
    private var joined = false
    // ---
    /// Serialises `stop()` callers so the second one returns only once the loop is gone.
    private let stopLock = NSLock()
    /// Signalled by the service thread once it is set up (start() waits for it).
    private let running = DispatchSemaphore(value: 0)

    /// Loop thread: the longest callback dispatched since it was last taken (/metrics).
    package var stall = StallMeter()
    /// Loop thread: runs after the service loop ends and before the context is destroyed
    /// (graceful closes; may call `serviceOnce`).
    package var beforeDestroy: (() -> Void)?
    /// Loop thread (or the stopping thread if never started): runs after the context is gone.
    package var afterDestroy: (() -> Void)?

    /// Any thread (the owner's init).
    package init(threadName: String) {
        self.threadName = threadName
        self.token = Unmanaged.passUnretained(self).toOpaque()
    }

    /// Installs the context created by the owner (init thread, before `start`).
    package func attach(context: OpaquePointer) {
        lock.lock(); contextStorage = context; lock.unlock()
    }

    /// The lws context, nil once destruction began. Loop thread (or before start).
    package var context: OpaquePointer? {
        lock.lock(); defer { lock.unlock() }
        return contextStorage
    }

    package var isOnLoop: Bool { pthread_getspecific(loopThreadKey) == token }

    package var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return lifecycle == .stopped
    }

    // MARK: Any thread

    /// Queues `work` for the loop thread and wakes it with lws_cancel_service.
    /// Work posted after stop is dropped.
    package func post(_ work: @escaping @Sendable () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard lifecycle != .stopped, let ctx = contextStorage else { return }
        pending.append(work)
        // Under the lock so the context cannot be destroyed between the check and the call.
        if lifecycle == .running { lws_cancel_service(ctx) }
    }

    /// Any thread: spawns the service thread and returns once it runs. `owner` (whose
    /// address is the lws context user pointer) is retained until the thread ends.
    package func start(owner: AnyObject) throws {
        lock.lock()
        guard lifecycle == .created else {
            lock.unlock()
            throw LoopStartError.notStartable
        }
        lifecycle = .running
        self.owner = owner
        lock.unlock()

        let arg = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        #if os(Linux)
        let rc = pthread_create(&tid, nil, { raw in
            let core = Unmanaged<LoopCore>.fromOpaque(raw!).takeRetainedValue()
            core.runServiceThread()
            return nil
        }, arg)
        #else
        let rc = pthread_create(&tid, nil, { raw in
            let core = Unmanaged<LoopCore>.fromOpaque(raw).takeRetainedValue()
            core.runServiceThread()
            return nil
        }, arg)
        #endif
        if rc != 0 {
            Unmanaged<LoopCore>.fromOpaque(arg).release()
            lock.lock(); lifecycle = .created; self.owner = nil; lock.unlock()
            throw LoopStartError.threadCreationFailed(rc)
        }
        lock.lock(); thread = tid; lock.unlock()
        running.wait()  // the thread is named and marked as the loop before we return
    }

    /// Thread-safe and idempotent. From another thread: stops the loop, waits for the
    /// context to be destroyed and joins the service thread. From the loop thread itself
    /// it only requests the stop (a thread cannot join itself); a later `stop()` from
    /// another thread joins.
    package func stop() {
        if isOnLoop {
            lock.lock()
            stopRequested = true
            if let ctx = contextStorage { lws_cancel_service(ctx) }
            lock.unlock()
            return
        }
        stopLock.lock()
        defer { stopLock.unlock() }

        lock.lock()
        switch lifecycle {
        case .created:
            // Never started: tear down right here, posing as the loop thread.
            lifecycle = .stopped
            let ctx = contextStorage
            contextStorage = nil
            pending.removeAll()
            lock.unlock()
            let previous = pthread_getspecific(loopThreadKey)
            pthread_setspecific(loopThreadKey, token)
            if let ctx { lws_context_destroy(ctx) }
            afterDestroy?()
            afterDestroy = nil
            beforeDestroy = nil
            pthread_setspecific(loopThreadKey, previous)
            return
        case .running, .stopped:
            stopRequested = true
            if lifecycle == .running, let ctx = contextStorage { lws_cancel_service(ctx) }
            let t = thread
            let mustJoin = !joined && t != nil
            if mustJoin { joined = true }
            lock.unlock()
            if mustJoin, let t { pthread_join(t, nil) }
        }
    }

    // MARK: Loop thread

    /// The service thread's body: lws_service until stopped, then teardown on this thread.
    private func runServiceThread() {
        setCurrentThreadName(threadName)
        pthread_setspecific(loopThreadKey, token)
        running.signal()
        drainPending()
        while true {
            lock.lock()
            let stop = stopRequested
            let ctx = contextStorage
            lock.unlock()
            guard !stop, let ctx else { break }
            if lws_service(ctx, 0) < 0 {
                lwsLogger.error("\(threadName): lws_service failed; stopping loop")
                break
            }
        }
        beforeDestroy?()
        beforeDestroy = nil

        lock.lock()
        let ctx = contextStorage
        contextStorage = nil
        lifecycle = .stopped
        let dropped = pending
        pending.removeAll()
        lock.unlock()
        _ = dropped  // released here, outside the lock
        // Every close/destroy callback of remaining connections runs now, on this thread.
        if let ctx { lws_context_destroy(ctx) }
        afterDestroy?()
        afterDestroy = nil
        pthread_setspecific(loopThreadKey, nil)
        lock.lock()
        let lastOwner = owner
        owner = nil
        lock.unlock()
        _ = lastOwner  // may run the owner's deinit here, on the (finished) loop thread
    }

    /// Loop thread: one lws service pass (used by graceful shutdown).
    package func serviceOnce() {
        guard let ctx = context else { return }
        _ = lws_service(ctx, 0)
    }

    /// Loop thread: runs everything posted so far (called at EVENT_WAIT_CANCELLED).
    package func drainPending() {
        lock.lock()
        if pending.isEmpty { lock.unlock(); return }
        let work = pending
        pending.removeAll(keepingCapacity: true)
        lock.unlock()
        for item in work { item() }
    }
}
