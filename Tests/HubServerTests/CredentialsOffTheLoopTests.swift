import Foundation
import HubClient
import HubCore
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// Issue 12 finding 2: authentication never makes the loop wait for the database, and
/// credential changes reach open connections as soon as PostgreSQL announces them.
final class CredentialsOffTheLoopTests: XCTestCase {
    /// A stranger's random secrets, seeded so a failure replays.
    private struct SeededSecrets {
        var state: UInt64
        mutating func next() -> String {
            let hex = (0..<4).map { _ -> String in
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                return String(z ^ (z >> 31), radix: 16)
            }.joined()
            return "chub_" + hex.prefix(64)
        }
    }

    /// Holds `LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE` in an open transaction.
    private func lockTokens(_ h: HubHarness) throws -> PostgresConnection {
        let locker = try PostgresConnection(conninfo: h.conninfo)
        try locker.query("BEGIN")
        try locker.query("LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE")
        return locker
    }

    func testConnectedClientIsServedAndUpgradesAnsweredWhileTheTokenTableIsLocked() throws {
        let h = try HubHarness()
        let connected = EventCollector(try h.connect(token: h.tokenA))
        XCTAssertTrue(connected.read { !$0.messages(ofType: "hello").isEmpty })
        let locker = try lockTokens(h)
        defer { _ = try? locker.query("ROLLBACK"); locker.close() }

        // A stranger upgrades with a random secret while the table is locked.
        var secrets = SeededSecrets(state: 12)
        let secret = secrets.next()
        let stranger = Outcome()
        let port = h.port
        DispatchQueue.global().async {
            do {
                _ = try SimpleWebSocketClient.connect(port: port, headers: [("Authorization", "Bearer \(secret)")],
                                                      subprotocol: "collection-hub.v1", timeout: .seconds(30))
                stranger.set(101)
            } catch {
                stranger.set((error as? WebSocketClientError)?.httpStatus ?? -1)
            }
        }
        connected.client.send("{\"type\":\"ping\",\"id\":\"during-lock\"}")
        XCTAssertTrue(connected.read(timeout: 30) { c in c.messages(ofType: "pong").contains { $0["id"] as? String == "during-lock" } },
                      "the connected client's ping was not answered while api_tokens was locked")
        XCTAssertEqual(stranger.wait(timeout: 30), 401, "a random secret must be refused from memory")
        // A legitimate newcomer is let in too, lock or not.
        let newcomer = EventCollector(try SimpleWebSocketClient.connect(
            port: port, headers: [("Authorization", "Bearer \(h.tokenB)")], subprotocol: "collection-hub.v1", timeout: .seconds(30)))
        XCTAssertTrue(newcomer.read(timeout: 30) { !$0.messages(ofType: "hello").isEmpty })
        // REST answers from memory as well.
        let rest = try HTTPProbe(port: port).send("GET", "/api/v1/session", headers: [("Authorization", "Bearer \(h.tokenB)")])
        XCTAssertEqual(rest.json["authenticated"] as? Bool, true)
    }

    func testRevocationClosesOpenSocketsWith4401AtOnceAndRESTRefuses() throws {
        // A periodic re-check would take an hour: only the NOTIFY can close them.
        let h = try HubHarness { $0.credentialCheckInterval = .seconds(3600) }
        let tokens = TokenRepository(pool: h.pool)
        let (revoked, revokedSecret) = try tokens.tokenCreate(orgID: h.orgA, userID: h.userA, name: "to revoke", permissions: [Permission.adminAutomation])
        let (deleted, deletedSecret) = try tokens.tokenCreate(orgID: h.orgA, userID: h.userA, name: "to delete", permissions: [Permission.adminAutomation])
        let probe = HTTPProbe(port: h.port)
        for secret in [revokedSecret, deletedSecret] {
            XCTAssertTrue(waitUntil { (try? probe.send("GET", "/api/v1/runs", headers: [("Authorization", "Bearer \(secret)")]).status) == 200 },
                          "the hub never learned of a new token")
        }
        let doomed = EventCollector(try h.connect(token: revokedSecret))
        let alsoDoomed = EventCollector(try h.connect(token: deletedSecret))
        let bystander = EventCollector(try h.connect(token: h.tokenA))
        for c in [doomed, alsoDoomed, bystander] { XCTAssertTrue(c.read { !$0.messages(ofType: "hello").isEmpty }) }

        try h.pool.query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1", [revoked.id])
        XCTAssertEqual(doomed.client.waitForClose(timeout: .seconds(10)), 4401, "a revoked token kept its stream")
        XCTAssertEqual(try probe.send("GET", "/api/v1/runs", headers: [("Authorization", "Bearer \(revokedSecret)")]).status, 401)

        try h.pool.query("DELETE FROM api_tokens WHERE id = $1", [deleted.id])
        XCTAssertEqual(alsoDoomed.client.waitForClose(timeout: .seconds(10)), 4401, "a deleted token kept its stream")

        bystander.client.send("{\"type\":\"ping\",\"id\":\"still-here\"}")
        XCTAssertTrue(bystander.read { c in c.messages(ofType: "pong").contains { $0["id"] as? String == "still-here" } })
    }

    func testCredentialsChangedAroundALISTENReconnectAreReadAgain() throws {
        let h = try HubHarness { $0.credentialCheckInterval = .seconds(3600) }
        let tokens = TokenRepository(pool: h.pool)
        let (record, secret) = try tokens.tokenCreate(orgID: h.orgA, userID: h.userA, name: "r", permissions: [Permission.adminAutomation])
        let probe = HTTPProbe(port: h.port)
        XCTAssertTrue(waitUntil { (try? probe.send("GET", "/api/v1/runs", headers: [("Authorization", "Bearer \(secret)")]).status) == 200 })
        let doomed = EventCollector(try h.connect(token: secret))
        XCTAssertTrue(doomed.read { !$0.messages(ofType: "hello").isEmpty })
        let pid = try XCTUnwrap(h.hub.listenBackendPID())
        try h.pool.query("SELECT pg_terminate_backend($1)", [Int(pid)])
        // Made as the LISTEN connection is down or coming back: heard or re-read, never lost.
        XCTAssertTrue(try tokens.tokenRevoke(orgID: h.orgA, tokenID: record.id))
        let (_, fresh) = try tokens.tokenCreate(orgID: h.orgA, userID: h.userA, name: "new", permissions: [Permission.adminAutomation])
        XCTAssertEqual(doomed.client.waitForClose(timeout: .seconds(20)), 4401)
        XCTAssertTrue(waitUntil { (try? probe.send("GET", "/api/v1/runs", headers: [("Authorization", "Bearer \(fresh)")]).status) == 200 })
        XCTAssertTrue(waitUntil { h.hub.listenBackendPID().map { $0 != pid } ?? false })
    }

    /// Not a pass/fail test: the worst ping of a connected client while another transaction
    /// holds api_tokens locked for 4 s and strangers keep upgrading with random secrets.
    /// Run with HUB_MEASURE=1; the figure goes into RELIABILITY.md.
    func testMeasureWorstPingWhileTheTokenTableIsLocked() throws {
        guard ProcessInfo.processInfo.environment["HUB_MEASURE"] != nil else { throw XCTSkip("set HUB_MEASURE=1 to measure") }
        let h = try HubHarness()
        let client = EventCollector(try h.connect(token: h.tokenA))
        XCTAssertTrue(client.read { !$0.messages(ofType: "hello").isEmpty })
        let locker = try lockTokens(h)
        let released = Outcome()
        let port = h.port
        // The lock is held for 4 s by the clock, whatever the hub does meanwhile.
        DispatchQueue.global().asyncAfter(deadline: .now() + 4) {
            _ = try? locker.query("ROLLBACK")
            released.set(1)
        }
        DispatchQueue.global().async {
            var secrets = SeededSecrets(state: 4)
            while released.peek() == nil {
                _ = try? SimpleWebSocketClient.connect(port: port, headers: [("Authorization", "Bearer \(secrets.next())")],
                                                       subprotocol: "collection-hub.v1", timeout: .seconds(15))
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        var worst: Duration = .zero
        var pings = 0
        while released.peek() == nil {
            let id = "m\(pings)"
            let sent = ContinuousClock.now
            client.client.send("{\"type\":\"ping\",\"id\":\"\(id)\"}")
            XCTAssertTrue(client.read(timeout: 30) { c in c.messages(ofType: "pong").contains { $0["id"] as? String == id } })
            worst = max(worst, ContinuousClock.now - sent)
            pings += 1
            Thread.sleep(forTimeInterval: 0.02)
        }
        locker.close()
        print("MEASURE worst ping while api_tokens was locked for 4 s: \(worst) over \(pings) pings")
    }
}

/// One Int handed from a background thread to the test.
final class Outcome: @unchecked Sendable {
    private let lock = NSLock()
    private let semaphore = DispatchSemaphore(value: 0)
    private var value: Int?
    func set(_ v: Int) {
        lock.withLock { value = v }
        semaphore.signal()
    }
    func peek() -> Int? { lock.withLock { value } }
    func wait(timeout: TimeInterval) -> Int? {
        _ = semaphore.wait(timeout: .now() + timeout)
        return peek()
    }
}
