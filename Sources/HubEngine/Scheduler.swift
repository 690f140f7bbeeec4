import Foundation
import HubCore
import HubStore
import Logging

/// Claims runs for this process (pending runs with a free slot, runs whose owner's lease
/// expired) and starts an executor for each; marks runs waiting for a slot. One thread,
/// `runOnce` every poll interval and whenever an executor ends.
// @unchecked Sendable: executors and stopping are guarded by `lock`; claiming runs on the scheduler thread only.
final class Scheduler: @unchecked Sendable {
    private let pool: ConnectionPool
    private let provider: any CollectionProvider
    private let config: EngineConfig
    private let logger: Logger
    private let runs: RunRepository
    private let wake = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    // Guarded by `lock`.
    private var executors: [UUID: RunExecutor] = [:]
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchGroup()

    init(pool: ConnectionPool, provider: any CollectionProvider, config: EngineConfig, logger: Logger) {
        self.pool = pool
        self.provider = provider
        self.config = config
        self.logger = logger
        runs = RunRepository(pool: pool)
    }

    func start() {
        finished.enter()
        let t = Thread { [self] in
            while !lock.withLock({ stopping }) {
                runOnce()
                _ = wake.wait(timeout: .now() + config.pollInterval.seconds)
            }
            finished.leave()
        }
        t.name = "scheduler"
        thread = t
        t.start()
    }

    /// Claims what it can and starts executors. Scheduler thread (or tests).
    func runOnce() {
        do {
            while lock.withLock({ !stopping && executors.count < config.maxExecutors }) {
                let claimSent = config.clock.now
                guard let (run, lease) = try runs.runClaimNext(owner: config.owner, leaseSeconds: config.leaseTimeout.seconds,
                                                                   maxPerOrg: config.effectiveMaxExecutorsPerOrg) else { break }
                logger.info("claimed run \(run.id.lowercasedString) (\(run.status.rawValue), lease \(lease.token))")
                let executor = RunExecutor(run: run, lease: lease, claimedAt: claimSent, pool: pool, provider: provider, config: config,
                                           logger: logger) { [weak self] done in self?.executorEnded(done) }
                lock.withLock { executors[run.id] = executor }
                finished.enter()
                executor.start()
            }
            let full = lock.withLock { executors.count >= config.maxExecutors }
            try runs.runMarkWaiting(owner: config.owner, maxPerOrg: config.effectiveMaxExecutorsPerOrg, executorsFull: full)
        } catch {
            logger.warning("scheduler: \(error)")
        }
    }

    private func executorEnded(_ executor: RunExecutor) {
        lock.withLock {
            if executors[executor.lease.runID] === executor { executors[executor.lease.runID] = nil }
        }
        finished.leave()
        wake.signal()
    }

    /// Runs this process executes now.
    var executingRunIDs: [UUID] { lock.withLock { Array(executors.keys) } }

    /// Stops claiming; executors commit, release their leases and exit (graceful), or just
    /// exit as a crash would (`abandon`). Waits at most `timeout`.
    func stop(abandon: Bool = false, timeout: Duration = .seconds(10)) {
        let running = lock.withLock { () -> [RunExecutor] in
            stopping = true
            return Array(executors.values)
        }
        for e in running { abandon ? e.abandon() : e.stop() }
        wake.signal()
        _ = finished.wait(timeout: .now() + timeout.seconds)
    }
}
