import ArgumentParser
import Foundation
import HubStore
import Logging

/// Where the database is: DATABASE_URL, or an embedded cluster in a data folder.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "PostgreSQL URL or conninfo (default: $DATABASE_URL, else the embedded cluster).")
    var databaseURL: String?

    @Option(name: .customLong("data-dir"), help: "Folder of the embedded PostgreSQL cluster.")
    var dataDir: String = ".hub/postgres"

    @Option(name: .customLong("migrations-dir"), help: "Folder of the NNN_name.sql migrations (default: ./migrations or the build's checkout).")
    var migrationsDir: String?

    @Option(name: .customLong("pool-size"), help: "Database connections at most.")
    var poolSize: Int = 8

    @Option(name: .customLong("statement-timeout-ms"), help: "statement_timeout of pooled connections.")
    var statementTimeoutMS: Int = 10_000

    @Option(name: .customLong("checkout-timeout-ms"), help: "How long a request waits for a free connection.")
    var checkoutTimeoutMS: Int = 5_000

    func validate() throws {
        guard (1...200).contains(poolSize) else { throw ValidationError("--pool-size must be between 1 and 200") }
        guard statementTimeoutMS >= 0 else { throw ValidationError("--statement-timeout-ms must not be negative") }
        guard checkoutTimeoutMS > 0 else { throw ValidationError("--checkout-timeout-ms must be positive") }
    }

    var resolvedURL: String? {
        databaseURL ?? ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// A database opened for one command: the embedded cluster (if any), migrated, with a pool.
// @unchecked Sendable: immutable after init; the pool and cluster it holds are thread-safe themselves.
final class OpenDatabase: @unchecked Sendable {
    let conninfo: String
    let embedded: EmbeddedPostgres?
    let pool: ConnectionPool
    let logger: Logger

    /// Starts the embedded cluster when needed, applies migrations if asked, opens the pool.
    init(_ options: DatabaseOptions, migrate: Bool, logger: Logger) throws {
        self.logger = logger
        var embedded: EmbeddedPostgres?
        let conninfo: String
        if let url = options.resolvedURL {
            conninfo = url
        } else {
            let dir = URL(fileURLWithPath: options.dataDir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            if let note = Self.newClusterNote(dir.standardizedFileURL) { printError(note) }
            let cluster = try EmbeddedPostgres(dataDirectory: dir.standardizedFileURL, logger: logger)
            ShutdownCoordinator.shared.onShutdown { cluster.stop() }
            conninfo = try cluster.start()
            embedded = cluster
        }
        self.embedded = embedded
        self.conninfo = conninfo
        do {
            if migrate {
                _ = try Self.runMigrations(options, conninfo: conninfo, logger: logger)
            }
            var config = ConnectionPool.Configuration(conninfo: conninfo, minConnections: 1, maxConnections: options.poolSize)
            config.statementTimeout = options.statementTimeoutMS == 0 ? nil : .milliseconds(options.statementTimeoutMS)
            config.checkoutTimeout = .milliseconds(options.checkoutTimeoutMS)
            pool = try ConnectionPool(config)
        } catch {
            embedded?.stop()
            throw error
        }
    }

    /// Said once, when a command is about to create a cluster: run from another folder, the
    /// default `.hub/postgres` is a new, empty database, not the hub's.
    static func newClusterNote(_ dir: URL) -> String? {
        guard !FileManager.default.fileExists(atPath: dir.appendingPathComponent("PG_VERSION").path) else { return nil }
        return "note: no database in \(dir.path); creating a new embedded PostgreSQL cluster there. "
            + "To use an existing hub's data, run from its folder or pass --data-dir or DATABASE_URL."
    }

    static func runMigrations(_ options: DatabaseOptions, conninfo: String, logger: Logger) throws -> Migrator.Report {
        guard let dir = Migration.locateDirectory(explicit: options.migrationsDir) else {
            throw CLIError("cannot find the migrations folder; run from the project folder or pass --migrations-dir")
        }
        return try Migrator(migrations: try Migration.load(from: dir), logger: logger).migrate(conninfo: conninfo)
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    func close() {
        pool.close()
        embedded?.stop()
    }
}

/// A one-sentence failure for the operator; printed without a stack and exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Logger factory honouring LOG_LEVEL (trace…critical, default info).
/// A one-shot command's body on the opened, migrated database, with the CLI's error
/// reporting; the pool is closed after it.
func withDatabase(_ options: DatabaseOptions, _ body: (OpenDatabase) throws -> Void) throws {
    try withCLIErrors {
        let db = try OpenDatabase(options, migrate: true, logger: makeLogger("collection-hub"))
        defer { db.close() }
        try body(db)
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    if let raw = ProcessInfo.processInfo.environment["LOG_LEVEL"], let level = Logger.Level(rawValue: raw.lowercased()) {
        logger.logLevel = level
    } else {
        logger.logLevel = .info
    }
    return logger
}
