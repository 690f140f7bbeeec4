import ArgumentParser
import HubEngine

/// `collection-hub engine`: the engine alone, for operators who split roles.
struct EngineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "engine", abstract: "Run only the collection engine until interrupted.")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var engineOptions: EngineOptions

    func run() throws {
        try withCLIErrors {
            let logger = makeLogger("collection-hub.engine")
            let db = try OpenDatabase(database, migrate: true, logger: logger)
            ShutdownCoordinator.shared.onShutdown { db.pool.close() }
            let engine = try Engine(pool: db.pool, provider: try engineOptions.makeProvider(),
                                    config: engineOptions.engineConfig(), logger: logger)
            engine.start()
            ShutdownCoordinator.shared.onShutdown { engine.stop() }
            print("engine running as \(engine.config.owner); Ctrl-C stops it")
            ShutdownCoordinator.shared.waitForSignal()
        }
    }
}
