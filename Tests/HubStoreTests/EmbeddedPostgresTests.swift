import Foundation
import HubStore
import XCTest

final class EmbeddedPostgresTests: XCTestCase {
    func testStartsIsReusedAndStopsWithNoProcessLeft() throws {
        let root = URL(fileURLWithPath: "/tmp/collection-hub-embedded-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("pg")

        let first = try EmbeddedPostgres(dataDirectory: dir)
        let conninfo = try first.start()
        XCTAssertTrue(try first.isRunning())
        XCTAssertEqual(try PostgresConnection(conninfo: conninfo).query("SELECT 1 AS one").first?.int("one"), 1)

        // A second launcher on the same folder shares the running server and leaves it alone.
        let second = try EmbeddedPostgres(dataDirectory: dir)
        XCTAssertEqual(try second.start(), conninfo)
        second.stop()
        XCTAssertTrue(try first.isRunning())

        first.stop()
        XCTAssertFalse(try first.isRunning())
        XCTAssertTrue(postmasterPIDs(dataDirectory: dir.path).isEmpty, "a postgres process was left behind")

        // Reused, not re-initialized: the cluster's data survives a restart.
        let third = try EmbeddedPostgres(dataDirectory: dir)
        let c = try PostgresConnection(conninfo: try third.start())
        try c.query("CREATE TABLE IF NOT EXISTS survives (x int)")
        c.close()
        third.stop()
        let fourth = try EmbeddedPostgres(dataDirectory: dir)
        XCTAssertEqual(try PostgresConnection(conninfo: try fourth.start()).query("SELECT count(*) AS n FROM survives").first?.int("n"), 0)
        fourth.stop()
        XCTAssertTrue(postmasterPIDs(dataDirectory: dir.path).isEmpty)
    }

    func testStalePidFileAfterACrashIsHandled() throws {
        let root = URL(fileURLWithPath: "/tmp/collection-hub-stale-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("pg")
        let pg = try EmbeddedPostgres(dataDirectory: dir)
        try pg.start()
        pg.stop()
        // What a crash leaves: a lock file naming a process that no longer exists.
        try "999999\n\(dir.path)\n1700000000\n5432\n\n\n".write(to: dir.appendingPathComponent("postmaster.pid"), atomically: true, encoding: .utf8)
        let again = try EmbeddedPostgres(dataDirectory: dir)
        XCTAssertNoThrow(try again.start())
        XCTAssertTrue(try again.isRunning())
        again.stop()
    }

    func testFolderOwnedBySomeoneElseIsRefused() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to create a folder owned by another user") }
        let root = URL(fileURLWithPath: "/tmp/collection-hub-owned-\(getpid())")
        try? FileManager.default.removeItem(at: root)
        let dir = root.appendingPathComponent("pg")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: root) }
        try "15".write(to: dir.appendingPathComponent("PG_VERSION"), atomically: true, encoding: .utf8)
        chown(dir.path, 65534, 65534)  // nobody
        XCTAssertThrowsError(try EmbeddedPostgres(dataDirectory: dir).start()) { error in
            XCTAssertTrue("\(error)".contains("belongs to"), "\(error)")
        }
    }

    /// Processes whose command line names the data folder.
    private func postmasterPIDs(dataDirectory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            guard Int(pid) != nil, let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8) else { return false }
            return cmd.contains("postgres") && cmd.contains(dataDirectory)
        }
    }
}
