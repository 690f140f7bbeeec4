import Foundation
import Logging

/// Applies migrations in order, each file in its own transaction, the whole run under a
/// session advisory lock so instances starting together take turns instead of racing.
public struct Migrator: Sendable {
    /// What one `migrate` call did.
    public struct Report: Sendable, Equatable {
        public var applied: [Int]
        public var alreadyApplied: Int
    }

    /// Arbitrary constant naming our advisory lock ("CollHub" in ASCII).
    static let lockKey: Int64 = 0x436f_6c6c_4875_6200
    public let migrations: [Migration]
    public var lockTimeout: Duration = .seconds(60)
    let logger: Logger

    public init(migrations: [Migration], logger: Logger = Logger(label: "collection-hub.migrate")) {
        self.migrations = migrations
        self.logger = logger
    }

    /// Migrates the database at `conninfo` over a connection of its own.
    public func migrate(conninfo: String) throws -> Report {
        // Our own connection: the advisory lock is per session, and DDL may outlast the
        // pool's statement_timeout.
        let connection = try PostgresConnection(conninfo: conninfo)
        defer { connection.close() }
        return try migrate(on: connection)
    }

    public func migrate(on connection: PostgresConnection) throws -> Report {
        try acquireLock(connection)
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }

        try connection.query("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     INT PRIMARY KEY,
                name        TEXT NOT NULL,
                checksum    TEXT NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """)
        var applied: [Int: String] = [:]
        for row in try connection.query("SELECT version, checksum FROM schema_migrations").rows {
            applied[try row.int("version")] = try row.string("checksum")
        }
        let known = Set(migrations.map(\.version))
        if let unknown = applied.keys.filter({ !known.contains($0) }).max() {
            throw MigrationError.unknownAppliedVersion(unknown)
        }
        // Verify every applied file before running anything new.
        for m in migrations {
            if let checksum = applied[m.version], checksum != m.checksum {
                throw MigrationError.checksumMismatch(version: m.version, name: m.name)
            }
        }
        var report = Report(applied: [], alreadyApplied: applied.count)
        for m in migrations where applied[m.version] == nil {
            do {
                try connection.withTransaction { c in
                    try c.executeScript(m.sql)
                    try c.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                                [m.version, m.name, m.checksum])
                }
            } catch {
                throw MigrationError.failed(version: m.version, name: m.name, reason: "\(error)")
            }
            logger.info("applied migration \(m.version)_\(m.name)")
            report.applied.append(m.version)
        }
        return report
    }

    private func acquireLock(_ connection: PostgresConnection) throws {
        // Poll with pg_try_advisory_lock so the wait is bounded without relying on the
        // session's statement_timeout.
        let deadline = Date().addingTimeInterval(lockTimeout.seconds)
        while true {
            if try connection.query("SELECT pg_try_advisory_lock($1) AS ok", [Self.lockKey]).first?.bool("ok") == true {
                return
            }
            if Date() > deadline { throw MigrationError.lockTimeout(seconds: Int(lockTimeout.seconds)) }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
