import Foundation
import HubCore
import HubStore
import XCTest

final class TokenRepositoryTests: XCTestCase {
    func testCreateStoresOnlyTheHashAndReturnsTheSecretOnce() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        let (record, secret) = try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: "ci",
                                                      permissions: [Permission.adminAutomation, Permission.collectionView])
        XCTAssertNotNil(secret.range(of: "^chub_[0-9a-f]{64}$", options: .regularExpression), secret)
        XCTAssertEqual(record.orgID, f.orgA.id)
        XCTAssertEqual(record.userID, f.userA.id)
        XCTAssertEqual(record.name, "ci")
        XCTAssertEqual(record.permissions, ["admin.automation", "collection.view"])
        XCTAssertNil(record.revokedAt)
        XCTAssertNil(record.lastUsedAt)
        let row = try XCTUnwrap(f.pool.query("SELECT encode(token_hash, 'hex') AS h FROM api_tokens WHERE id = $1", [record.id]).first)
        XCTAssertEqual(try row.string("h"), SHA256.hexDigest(Array(secret.utf8)))

        let (_, other) = try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: "ci", permissions: [])
        XCTAssertNotEqual(other, secret, "every token gets its own secret")
    }

    func testUnknownPermissionIsRefusedWithoutARow() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        XCTAssertThrowsError(try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: "x", permissions: ["root"])) {
            guard case .invalid(let message) = $0 as? StoreError else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("root"), message)
        }
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM api_tokens"), 0)
    }

    /// The hub authenticates from memory: what it loads is every live token's hash and principal.
    func testSnapshotHoldsEachLiveTokensHashAndPrincipal() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        let (record, secret) = try tokens.tokenCreate(orgID: f.orgB.id, userID: f.userB.id, name: "b", permissions: [Permission.collectionView])
        let live = try CredentialRepository(pool: f.pool).snapshot().tokens
        let token = try XCTUnwrap(live.first { $0.principal.tokenID == record.id })
        XCTAssertEqual(token.hash, SHA256.hash(Array(secret.utf8)))
        XCTAssertEqual(token.principal.orgID, f.orgB.id)
        XCTAssertEqual(token.principal.userID, f.userB.id)
        XCTAssertEqual(token.principal.permissions, [Permission.collectionView])
        XCTAssertTrue(token.principal.has(Permission.collectionView))
        XCTAssertFalse(token.principal.has(Permission.adminAutomation))
        XCTAssertFalse(live.contains { $0.hash == SHA256.hash(Array((secret + "x").utf8)) })
    }

    func testLastUsedIsWrittenAtMostOncePerMinute() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        let credentials = CredentialRepository(pool: f.pool)
        let (record, _) = try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: "a", permissions: [])
        func lastUsed() throws -> String? { try f.text("SELECT last_used_at::text AS v FROM api_tokens WHERE id = $1", [record.id]) }
        try credentials.touchLastUsed([record.id])
        XCTAssertNotNil(try lastUsed(), "first use is recorded")
        try f.pool.query("UPDATE api_tokens SET last_used_at = now() - interval '30 seconds' WHERE id = $1", [record.id])
        let recent = try lastUsed()
        try credentials.touchLastUsed([record.id])
        XCTAssertEqual(try lastUsed(), recent, "used 30 s ago: not rewritten")
        try f.pool.query("UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1", [record.id])
        let stale = try lastUsed()
        try credentials.touchLastUsed([record.id])
        XCTAssertNotEqual(try lastUsed(), stale, "used 2 min ago: refreshed")
        XCTAssertEqual(try f.count("SELECT (last_used_at > now() - interval '1 minute')::int AS n FROM api_tokens WHERE id = $1", [record.id]), 1)
    }

    func testRevokeIsPerOrgAndFinal() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        let (a, secretA) = try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: "a", permissions: [])
        let (b, secretB) = try tokens.tokenCreate(orgID: f.orgB.id, userID: f.userB.id, name: "b", permissions: [])

        XCTAssertFalse(try tokens.tokenRevoke(orgID: f.orgB.id, tokenID: a.id), "org B cannot revoke org A's token")
        func live() throws -> Set<UUID> { Set(try CredentialRepository(pool: f.pool).snapshot().tokens.map(\.principal.tokenID)) }
        XCTAssertTrue(try live().contains(a.id))
        XCTAssertFalse(try tokens.tokenRevoke(orgID: f.orgA.id, tokenID: UUID()))

        XCTAssertTrue(try tokens.tokenRevoke(orgID: f.orgA.id, tokenID: a.id))
        XCTAssertFalse(try tokens.tokenRevoke(orgID: f.orgA.id, tokenID: a.id), "already revoked")
        XCTAssertFalse(try live().contains(a.id))
        XCTAssertTrue(try live().contains(b.id))
        XCTAssertNotNil(try tokens.tokenList(orgID: f.orgA.id).first { $0.id == a.id }?.revokedAt)

    }

    func testListIsNewestFirstAndPerOrg() throws {
        let f = try StoreFixture()
        let tokens = TokenRepository(pool: f.pool)
        var made: [UUID] = []
        for name in ["one", "two", "three"] {
            made.append(try tokens.tokenCreate(orgID: f.orgA.id, userID: f.userA.id, name: name, permissions: []).0.id)
        }
        // Distinct creation times so the order is defined.
        for (i, id) in made.enumerated() {
            try f.pool.query("UPDATE api_tokens SET created_at = now() - make_interval(mins => $2) WHERE id = $1", [id, 10 - i])
        }
        _ = try tokens.tokenCreate(orgID: f.orgB.id, userID: f.userB.id, name: "b", permissions: [])
        let listed = try tokens.tokenList(orgID: f.orgA.id)
        XCTAssertEqual(listed.map(\.name), ["three", "two", "one"])
        XCTAssertEqual(Set(listed.map(\.orgID)), [f.orgA.id])
        XCTAssertEqual(try tokens.tokenList(orgID: f.orgB.id).map(\.name), ["b"])
        XCTAssertEqual(try tokens.tokenList(orgID: UUID()).count, 0)
    }
}
