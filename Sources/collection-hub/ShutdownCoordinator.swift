import Dispatch
import Foundation

/// Turns SIGINT/SIGTERM into an orderly shutdown: registered actions run in reverse order
/// (hub, engine, pool, then PostgreSQL), so Ctrl-C leaves no process behind.
// @unchecked Sendable: its actions and signal sources are guarded by `lock`.
final class ShutdownCoordinator: @unchecked Sendable {
    static let shared = ShutdownCoordinator()

    private let lock = NSLock()
    private var actions: [() -> Void] = []
    private var sources: [DispatchSourceSignal] = []
    private let requested = DispatchSemaphore(value: 0)
    private var didRun = false
    private var waiting = false

    /// Installs the signal handlers (idempotent).
    func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [weak self] in self?.signalled() }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Adds an action to run at shutdown (last added runs first).
    func onShutdown(_ action: @escaping () -> Void) {
        lock.withLock { actions.append(action) }
    }

    /// Blocks until a signal arrives (long-running commands); the caller then shuts down.
    func waitForSignal() {
        lock.withLock { waiting = true }
        requested.wait()
    }

    /// Wakes a waiting command, or, for short commands, cleans up and exits at once.
    private func signalled() {
        if lock.withLock({ waiting }) {
            requested.signal()
        } else {
            runActions()
            exit(130)
        }
    }

    /// Runs the registered actions once.
    func runActions() {
        let toRun: [() -> Void] = lock.withLock {
            guard !didRun else { return [] }
            didRun = true
            return actions.reversed()
        }
        toRun.forEach { $0() }
    }
}
