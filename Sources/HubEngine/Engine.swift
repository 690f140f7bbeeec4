import Foundation
import HubCore
import HubStore
import Logging

/// The collection engine of one process: a scheduler and the executors it starts.
/// `start()` and `stop()`; several processes may share one database.
// @unchecked Sendable: immutable after init; the scheduler it wraps guards its own state.
public final class Engine: @unchecked Sendable {
    public let config: EngineConfig
    private let scheduler: Scheduler

    public init(pool: ConnectionPool, provider: any CollectionProvider, config: EngineConfig = EngineConfig(),
                logger: Logger = Logger(label: "collection-hub.engine")) throws {
        try config.validate(callTimeout: provider.callTimeout)
        self.config = config
        scheduler = Scheduler(pool: pool, provider: provider, config: config, logger: logger)
    }

    public func start() { scheduler.start() }

    /// Graceful: executors commit their batch and hand their runs back at once.
    public func stop() { scheduler.stop() }

    /// What `kill -9` would leave: no commit, no release; the leases lapse (tests).
    public func stopAbruptly() { scheduler.stop(abandon: true) }

    /// Runs executed by this process right now.
    public var executingRunIDs: [UUID] { scheduler.executingRunIDs }
}
