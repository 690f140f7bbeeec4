import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// Issue 12, finding 8: `serve --demo` keeps one live demo admin token per data folder
/// instead of minting another at every start.
final class DemoTokenTests: XCTestCase {
    private func liveDemoTokens(_ pool: ConnectionPool) throws -> Int {
        try pool.query("""
            SELECT count(*) AS n FROM api_tokens t JOIN orgs o ON o.id = t.org_id
            WHERE o.slug = 'demo' AND t.revoked_at IS NULL
            """).first!.int("n")
    }

    func testRestartsReuseOneLiveDemoToken() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 2))
        defer { pool.close() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("demo-token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("collection-hub.demo-token")

        let first = try DemoToken.ensure(pool: pool, file: file)
        let again = try DemoToken.ensure(pool: pool, file: file)
        XCTAssertEqual(again, first, "a restart minted a new demo token")
        XCTAssertEqual(try liveDemoTokens(pool), 1)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        // Another data folder on the same database (DATABASE_URL) gets its own, and
        // leaves the first one valid.
        let other = try DemoToken.ensure(pool: pool, file: dir.appendingPathComponent("other/demo-token"))
        XCTAssertNotEqual(other, first)
        XCTAssertTrue(try isLive(first, pool))

        // The file is lost: the next start mints one and revokes the one it replaces.
        try FileManager.default.removeItem(at: file)
        let replaced = try DemoToken.ensure(pool: pool, file: file)
        XCTAssertNotEqual(replaced, first)
        XCTAssertFalse(try isLive(first, pool))
        XCTAssertEqual(try liveDemoTokens(pool), 2)  // this folder's and the other folder's
    }

    func testPerStartTokensOfOlderVersionsAreRevoked() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 2))
        defer { pool.close() }
        let orgs = OrgRepository(pool: pool)
        let org = try orgs.orgCreate(name: "Demo Reselling Co", slug: "demo")
        let user = try orgs.userEnsure(email: "admin@demo.example", displayName: "Demo Admin")
        for i in 0..<3 {
            _ = try TokenRepository(pool: pool).tokenCreate(orgID: org.id, userID: user.id, name: "make run \(i)",
                                                            permissions: [Permission.adminAutomation])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("demo-token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try DemoToken.ensure(pool: pool, file: file)
        XCTAssertEqual(try liveDemoTokens(pool), 1)
    }
}

/// Whether `secret` is a live token, as a hub loading its credentials would see it.
private func isLive(_ secret: String, _ pool: ConnectionPool) throws -> Bool {
    try CredentialRepository(pool: pool).snapshot().tokens.contains { $0.hash == SHA256.hash(Array(secret.utf8)) }
}
