import Foundation
import HubClient
import HubCore
import HubEngine
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// A hub on an ephemeral port over a fresh migrated database, two orgs with tokens, and
/// helpers to commit items and read what a client received.
final class HubHarness: @unchecked Sendable {
    let conninfo: String
    let pool: ConnectionPool
    private(set) var hub: Hub
    let publicDir: URL
    let tune: (inout HubConfig) -> Void
    let orgA: UUID, orgB: UUID, userA: UUID
    let tokenA: String, tokenB: String, viewerA: String
    var port: Int { hub.boundPort }

    init(tune: @escaping (inout HubConfig) -> Void = { _ in }) throws {
        self.tune = tune
        conninfo = try TestDatabase.shared.migratedDatabase()
        pool = try ConnectionPool(.init(conninfo: conninfo, maxConnections: 6))
        let orgs = OrgRepository(pool: pool)
        let a = try orgs.orgCreate(name: "Org A", slug: "org-a")
        let b = try orgs.orgCreate(name: "Org B", slug: "org-b")
        let ua = try orgs.userEnsure(email: "a@example.com", displayName: "A")
        let ub = try orgs.userEnsure(email: "b@example.com", displayName: "B")
        let tokens = TokenRepository(pool: pool)
        tokenA = try tokens.tokenCreate(orgID: a.id, userID: ua.id, name: "a", permissions: [Permission.adminAutomation]).1
        tokenB = try tokens.tokenCreate(orgID: b.id, userID: ub.id, name: "b", permissions: [Permission.adminAutomation]).1
        viewerA = try tokens.tokenCreate(orgID: a.id, userID: ua.id, name: "view", permissions: [Permission.collectionView]).1
        orgA = a.id
        orgB = b.id
        userA = ua.id
        publicDir = FileManager.default.temporaryDirectory.appendingPathComponent("hub-public-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: publicDir, withIntermediateDirectories: true)
        try Data("<!doctype html><title>t</title>".utf8).write(to: publicDir.appendingPathComponent("index.html"))
        hub = try Self.startHub(conninfo: conninfo, pool: pool, publicDir: publicDir, port: 0, tune: tune)
    }

    static func startHub(conninfo: String, pool: ConnectionPool, publicDir: URL, port: Int,
                         tune: (inout HubConfig) -> Void) throws -> Hub {
        var config = HubConfig(publicDirectory: publicDir, conninfo: conninfo)
        config.port = port
        tune(&config)
        let hub = Hub(config: config, pool: pool, api: CollectionAPI(service: CollectionService(pool: pool)))
        try hub.start()
        // The LISTEN connection comes up asynchronously; wait for it (unless a test delays it).
        if config.listenStartDelay == .zero {
            XCTAssertTrue(waitUntil { hub.listenBackendPID() != nil }, "LISTEN connection did not come up")
        }
        return hub
    }

    /// Stops the hub and starts a new one on the same database and port; `whileDown` runs
    /// in between, when no hub is listening.
    func restartHub(whileDown: () throws -> Void = {}) throws {
        let port = hub.boundPort
        hub.stop()
        try whileDown()
        hub = try Self.startHub(conninfo: conninfo, pool: pool, publicDir: publicDir, port: port, tune: tune)
    }

    deinit {
        hub.stop()
        pool.close()
    }

    func makeRun(org: UUID? = nil) throws -> UUID {
        try pool.query("""
            INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
            VALUES ($1, 'Test run', 100, 2500, '{electronics}', $2) RETURNING id
            """, [org ?? orgA, userA]).first!.uuid("id")
    }

    /// A token made after the hub started, returned once the hub knows it: hubs learn of
    /// credentials by NOTIFY, a moment after the commit.
    func makeToken(org: UUID? = nil, name: String = "test", permissions: [String]) throws -> (TokenRecord, String) {
        let made = try TokenRepository(pool: pool).tokenCreate(orgID: org ?? orgA, userID: userA, name: name, permissions: permissions)
        XCTAssertTrue(waitUntil {
            ((try? http(port: port, method: "GET", path: "/api/v1/session", headers: ["Authorization: Bearer \(made.1)"]))??.body)?
                .contains("\"authenticated\":true") ?? false
        }, "the hub never learned of the new token")
        return made
    }

    /// For tests whose clients stop reading (and so never answer a PING) for as long as the
    /// writes take, which on a busy machine can pass the keepalive's hangup.
    static func neverHangUp(_ c: inout HubConfig) {
        c.wsPingIntervalSeconds = 3000
        c.wsHangupSeconds = 6000
    }

    /// A barrier for "nothing arrived" checks: commits a change to a fresh run of `org` and
    /// reads `collector` (subscribed to the org topic) until it arrives. Notifications reach
    /// the hub in commit order, so whatever was committed earlier has been delivered by then.
    /// Returns the marker run, for assertions to tell apart.
    @discardableResult
    func orgBarrier(_ collector: EventCollector, org: UUID) throws -> UUID {
        let marker = try makeRun(org: org)
        try pool.query("UPDATE collection_runs SET status = 'running' WHERE id = $1", [marker])
        let id = marker.uuidString.lowercased()
        XCTAssertTrue(collector.read { $0.messages(ofType: "run").contains { $0["run"] as? String == id } },
                      "the barrier's own run change never arrived")
        return marker
    }

    /// Commits `count` items in transactions of `perTransaction`.
    func commitItems(run: UUID, count: Int, perTransaction: Int = 1, prefix: String = "P", titlePadding: Int = 0) throws {
        var done = 0
        while done < count {
            let n = min(perTransaction, count - done)
            try pool.query("""
                INSERT INTO collection_items (run_id, item_type, external_id, status, data, cost_cents)
                SELECT $1, 'amazon_product', $2 || g, 'completed', jsonb_build_object('title', 'Product ' || g || repeat('.', $5)), 1
                FROM generate_series($3::int, $4::int) g
                """, [run, prefix, done + 1, done + n, titlePadding])
            done += n
        }
    }

    func connect(token: String? = nil, headers: [(String, String)] = []) throws -> SimpleWebSocketClient {
        var h = headers
        if let token { h.append(("Authorization", "Bearer \(token)")) }
        return try SimpleWebSocketClient.connect(port: port, headers: h, subprotocol: "collection-hub.v1")
    }
}

/// Reads a client's frames and keeps item sequence numbers and other messages.
final class EventCollector {
    let client: SimpleWebSocketClient
    var itemSeqs: [Int64] = []
    var messages: [[String: Any]] = []

    init(_ client: SimpleWebSocketClient) { self.client = client }

    /// Reads until `predicate` holds or `timeout` passes; true when it held.
    @discardableResult
    func read(timeout: TimeInterval = 30, until predicate: (EventCollector) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !predicate(self) {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            guard let bytes = client.receive(timeout: .milliseconds(Int(min(left, 0.5) * 1000))) else { continue }
            absorb(bytes)
        }
        return true
    }

    func absorb(_ bytes: [UInt8]) {
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes)) else {
            XCTFail("frame is not JSON: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
            return
        }
        let objects: [[String: Any]]
        if let array = json as? [[String: Any]] {
            objects = array
        } else if let object = json as? [String: Any] {
            objects = [object]
            if object["type"] as? String == "snapshot", let items = object["items"] as? [[String: Any]] {
                for item in items { record(item) }
            }
        } else {
            return XCTFail("unexpected frame \(json)")
        }
        for o in objects {
            messages.append(o)
            record(o)
        }
    }

    private func record(_ o: [String: Any]) {
        if let type = o["type"] as? String, type == "item" || type == "seller", let seq = (o["seq"] as? NSNumber)?.int64Value {
            itemSeqs.append(seq)
        }
    }

    func messages(ofType type: String) -> [[String: Any]] { messages.filter { $0["type"] as? String == type } }
}
