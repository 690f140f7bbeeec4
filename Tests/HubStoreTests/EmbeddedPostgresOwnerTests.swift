import Foundation
import HubStore
import XCTest

/// Issue 12, finding 8: the record of which process stops an embedded cluster belongs to
/// that cluster, not to the folder around it.
final class EmbeddedPostgresOwnerTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = URL(fileURLWithPath: "/tmp/collection-hub-owner-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: root)
    }

    /// A pid no process has any more (a child that already exited).
    private func deadPID() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    /// Files under `root` (any depth ≤ 2, outside the clusters' own PostgreSQL files) that
    /// name `pid`: where a launcher recorded itself as a cluster's owner.
    private func ownerRecords(naming pid: pid_t, under dir: URL) -> [URL] {
        let fm = FileManager.default
        let candidates = ((try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
        return candidates.filter { url in
            guard url.pathExtension == "owner" else { return false }
            return (try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == String(pid)
        }
    }

    func testTwoDataFoldersInOneParentKeepTheirOwnOwnerRecords() throws {
        let a = try EmbeddedPostgres(dataDirectory: root.appendingPathComponent("a"))
        let b = try EmbeddedPostgres(dataDirectory: root.appendingPathComponent("b"))
        try a.start()
        try b.start()
        defer { if (try? b.isRunning()) == true { b.stop() } }
        // A's hub stops cleanly: B's record must survive it.
        a.stop()
        let bRecords = ownerRecords(naming: getpid(), under: root) + ownerRecords(naming: getpid(), under: b.dataDirectory)
        let record = try XCTUnwrap(bRecords.first, "stopping cluster a removed cluster b's owner record")

        // B's hub is killed (-9): its record names a process that is gone. The next
        // launcher adopts the cluster, so stopping it stops the server.
        try String(try deadPID()).write(to: record, atomically: true, encoding: .utf8)
        let successor = try EmbeddedPostgres(dataDirectory: b.dataDirectory)
        try successor.start()
        successor.stop()
        XCTAssertFalse(try successor.isRunning(), "the cluster of a killed hub was left running after the successor's exit")
    }

    func testAnOwnerRecordBesideTheFolderFromAnOlderVersionIsStillHonoured() throws {
        let pg = try EmbeddedPostgres(dataDirectory: root.appendingPathComponent("pg"))
        try pg.start()
        // What an older collection-hub that was killed leaves: only the shared file.
        try? FileManager.default.removeItem(at: pg.dataDirectory.appendingPathComponent("collection-hub.owner"))
        let legacy = root.appendingPathComponent("postgres.owner")
        try String(try deadPID()).write(to: legacy, atomically: true, encoding: .utf8)
        let successor = try EmbeddedPostgres(dataDirectory: pg.dataDirectory)
        try successor.start()
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy.path), "the stale shared owner file was kept")
        successor.stop()
        XCTAssertFalse(try successor.isRunning())
    }
}
