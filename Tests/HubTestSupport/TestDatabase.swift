import Foundation
import HubStore
import Logging

/// One embedded PostgreSQL cluster per test process, in a temporary folder, stopped at
/// exit. Tests get fresh databases cloned from a migrated template.
public final class TestDatabase: @unchecked Sendable {
    public static let shared: TestDatabase = {
        do {
            return try TestDatabase()
        } catch {
            fatalError("cannot start the test PostgreSQL cluster: \(error)")
        }
    }()

    public let cluster: EmbeddedPostgres
    public let root: URL
    private let lock = NSLock()
    private var counter = 0
    private var templateReady = false

    private init() throws {
        // /tmp itself is world-traversable, so the unprivileged server user reaches it.
        root = URL(fileURLWithPath: "/tmp/collection-hub-test-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        var logger = Logger(label: "test.postgres")
        logger.logLevel = .warning
        cluster = try EmbeddedPostgres(dataDirectory: root.appendingPathComponent("pg"), logger: logger)
        try cluster.start()
        testCluster = cluster
        atexit {
            testCluster?.stop()
            if let root = testCluster?.dataDirectory.deletingLastPathComponent() {
                try? FileManager.default.removeItem(at: root)
            }
        }
    }

    /// The repository's migrations folder.
    public static var migrationsDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations")
    }

    /// conninfo of a database on the test cluster.
    public func conninfo(database: String) -> String {
        "host=\(cluster.dataDirectory.path) dbname=\(database) user=postgres"
    }

    /// A new, empty database (no migrations).
    public func emptyDatabase() throws -> String {
        let name = nextName("empty")
        try admin { try $0.query("CREATE DATABASE \(name)") }
        return conninfo(database: name)
    }

    /// A new database with every migration applied (cloned from a template).
    public func migratedDatabase() throws -> String {
        try lock.withLock {
            if !templateReady {
                try admin { c in
                    try c.query("DROP DATABASE IF EXISTS hub_template")
                    try c.query("CREATE DATABASE hub_template")
                }
                let migrations = try Migration.load(from: Self.migrationsDirectory)
                _ = try Migrator(migrations: migrations).migrate(conninfo: conninfo(database: "hub_template"))
                templateReady = true
            }
        }
        let name = nextName("db")
        try admin { try $0.query("CREATE DATABASE \(name) TEMPLATE hub_template") }
        return conninfo(database: name)
    }

    private func nextName(_ prefix: String) -> String {
        lock.withLock {
            counter += 1
            return "\(prefix)_\(counter)"
        }
    }

    private func admin(_ body: (PostgresConnection) throws -> Void) throws {
        let c = try PostgresConnection(conninfo: conninfo(database: "postgres"))
        defer { c.close() }
        try body(c)
    }
}

nonisolated(unsafe) private var testCluster: EmbeddedPostgres?
