import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// Migration 006: every change a hub's credential memory depends on is announced on
/// collection_hub_auth with the row's new state, and nothing else is.
final class CredentialNotifyTests: XCTestCase {
    func testTokenAndSessionChangesNotifyTheirNewState() throws {
        let db = try TestDatabase.shared.migratedDatabase()
        let pool = try ConnectionPool(.init(conninfo: db, maxConnections: 2))
        defer { pool.close() }
        let listener = try PostgresConnection(conninfo: db)
        defer { listener.close() }
        try listener.listen(CredentialChange.channel)
        let orgs = OrgRepository(pool: pool)
        let org = try orgs.orgCreate(name: "N", slug: "n")
        let user = try orgs.userEnsure(email: "n@example.com", displayName: "N")
        let (record, secret) = try TokenRepository(pool: pool).tokenCreate(orgID: org.id, userID: user.id, name: "t",
                                                                            permissions: [Permission.adminAutomation])
        func next() throws -> CredentialChange? {
            try listener.waitForNotifications(timeout: .seconds(5)).first.flatMap { CredentialChange.parse($0.payload) }
        }
        guard case .token(let created, live: true)? = try next() else { return XCTFail("no token notification") }
        XCTAssertEqual(created.hash, SHA256.hash(Array(secret.utf8)))
        XCTAssertEqual(created.principal, Principal(tokenID: record.id, orgID: org.id, userID: user.id, permissions: [Permission.adminAutomation]))

        // last_used_at changes nothing a hub holds: silence.
        try CredentialRepository(pool: pool).touchLastUsed([record.id])
        XCTAssertTrue(try listener.waitForNotifications(timeout: .milliseconds(300)).isEmpty)

        let (session, sessionSecret) = try XCTUnwrap(try SessionRepository(pool: pool).sessionCreate(tokenID: record.id, lifetime: .seconds(60)))
        XCTAssertFalse(sessionSecret.contains(secret))
        guard case .session(let started, live: true)? = try next() else { return XCTFail("no session notification") }
        XCTAssertEqual(started.hash, session.hash)
        XCTAssertEqual(started.tokenID, record.id)
        XCTAssertTrue(try SessionRepository(pool: pool).sessionEnd(hash: session.hash))
        guard case .session(_, live: false)? = try next() else { return XCTFail("ending a session was not announced") }

        XCTAssertTrue(try TokenRepository(pool: pool).tokenRevoke(orgID: org.id, tokenID: record.id))
        guard case .token(let revoked, live: false)? = try next() else { return XCTFail("revocation was not announced") }
        XCTAssertEqual(revoked.principal.tokenID, record.id)
        // A revoked token cannot start a session.
        XCTAssertNil(try SessionRepository(pool: pool).sessionCreate(tokenID: record.id, lifetime: .seconds(60)))
        let snapshot = try CredentialRepository(pool: pool).snapshot()
        XCTAssertTrue(snapshot.tokens.isEmpty && snapshot.sessions.isEmpty)
    }
}
