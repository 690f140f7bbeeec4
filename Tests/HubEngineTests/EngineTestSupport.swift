import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import XCTest

/// A migrated database with an org and an admin, and helpers to run engines against it.
final class EngineFixture {
    let pool: ConnectionPool
    let org: UUID
    let user: UUID
    let service: CollectionService

    init(unitCosts: UnitCosts = UnitCosts(amazonProductCallCents: 2, ebaySellerCallCents: 1)) throws {
        pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 12))
        org = try OrgRepository(pool: pool).orgCreate(name: "Engine Org").id
        user = try OrgRepository(pool: pool).userEnsure(email: "engine@example.com", displayName: "E").id
        service = CollectionService(pool: pool, unitCosts: unitCosts, timeZone: TimeZone(identifier: "UTC")!)
    }

    var actor: CollectionService.Actor { .init(userID: user) }

    func engine(_ sim: SimulatedProvider.Config, owner: String = "test-\(UUID().uuidString.prefix(6))",
                lease: Duration = .seconds(2), tune: (inout EngineConfig) -> Void = { _ in }) throws -> Engine {
        try engine(provider: SimulatedProvider(config: sim), owner: owner, lease: lease, tune: tune)
    }

    func engine(provider: any CollectionProvider, owner: String = "test-\(UUID().uuidString.prefix(6))",
                lease: Duration = .seconds(2), tune: (inout EngineConfig) -> Void = { _ in }) throws -> Engine {
        var config = EngineConfig()
        config.owner = owner
        config.leaseTimeout = lease
        config.pollInterval = .milliseconds(50)
        config.unitCosts = service.unitCosts
        config.backoff = Backoff(initial: .milliseconds(50), maximum: .milliseconds(200), multiplier: 2, jitter: 0)
        tune(&config)
        return try Engine(pool: pool, provider: provider, config: config)
    }

    func run(_ id: UUID) throws -> RunRecord { try service.getRun(orgID: org, runID: id) }

    /// The database's clock now (leases expire by it), to compare against later.
    func databaseNow() throws -> String { try pool.query("SELECT clock_timestamp()::text AS t").first!.string("t") }

    /// Whether `seconds` have passed on the database's clock since `then` (from `databaseNow`).
    func databaseTime(passed seconds: Double, since then: String) throws -> Bool {
        try pool.query("SELECT clock_timestamp() > $1::timestamptz + make_interval(secs => $2) AS past", [then, seconds]).first!.bool("past")
    }

    /// Polls until the run is terminal.
    func waitForEnd(_ id: UUID, timeout: TimeInterval = 30) throws -> RunRecord {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let r = try run(id)
            if r.status.isTerminal { return r }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("run \(id) did not end: \(try run(id).status)")
        return try run(id)
    }

    /// What the simulated catalog holds for these categories: products and distinct sellers.
    func expectedItems(_ categoryIDs: [String], sim: SimulatedProvider.Config) throws -> (products: Int, sellers: Int) {
        let provider = SimulatedProvider(config: { var c = sim; c.latency = .zero; c.failureRate = 0; c.outageCalls = []; c.rateLimitCalls = []; return c }())
        var products = 0
        var sellers = Set<String>()
        for category in try CatalogRepository(pool: pool).categoryFind(categoryIDs) {
            let list = try provider.listProducts(category: category, cursor: 0, limit: 100_000).products
            products += list.count
            for p in list { for s in try provider.discoverSellers(for: p, category: category) { sellers.insert(s.platformID) } }
        }
        return (products, sellers.count)
    }

    func itemStats(_ id: UUID) throws -> (count: Int, cost: Int, distinct: Int, maxSeq: Int) {
        let row = try pool.query("""
            SELECT count(*) AS n, COALESCE(sum(cost_cents), 0) AS cost, count(DISTINCT (item_type, external_id)) AS d,
                   COALESCE(max(seq), 0) AS m FROM collection_items WHERE run_id = $1
            """, [id]).first!
        return (try row.int("n"), try row.int("cost"), try row.int("d"), try row.int("m"))
    }
}

func quietSim(latencyMS: Int = 0, failureRate: Double = 0) -> SimulatedProvider.Config {
    var c = SimulatedProvider.Config()
    c.latency = .milliseconds(latencyMS)
    c.failureRate = failureRate
    return c
}
