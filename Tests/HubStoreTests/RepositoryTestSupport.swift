import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// A fresh migrated database with two orgs and a user in each, for repository tests.
final class StoreFixture {
    let pool: ConnectionPool
    let orgA: OrgRecord, orgB: OrgRecord
    let userA: UserRecord, userB: UserRecord
    let runs: RunRepository
    let items: ItemRepository

    init() throws {
        pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 4))
        let orgs = OrgRepository(pool: pool)
        orgA = try orgs.orgCreate(name: "Org A", slug: "org-a")
        orgB = try orgs.orgCreate(name: "Org B", slug: "org-b")
        userA = try orgs.userEnsure(email: "a@example.com", displayName: "A")
        userB = try orgs.userEnsure(email: "b@example.com", displayName: "B")
        runs = RunRepository(pool: pool)
        items = ItemRepository(pool: pool)
    }

    deinit { pool.close() }

    /// A pending run created the way the service creates one.
    func newRun(org: UUID? = nil, user: UUID? = nil, name: String = "Run", categories: [Category]? = nil,
                settings: BudgetSettings = BudgetSettings()) throws -> RunRecord {
        let cats = categories ?? [Category(id: "beauty", name: "Beauty", expectedProducts: 30, expectedSellersPerProduct: 5)]
        let estimate = CostEstimator.estimate(categories: cats, unitCosts: UnitCosts())
        return try pool.withTransaction { c in
            try runs.runCreate(.init(orgID: org ?? orgA.id, userID: user ?? userA.id, name: name, categoryIDs: cats.map(\.id),
                                     estimate: estimate, settings: settings), on: c)
        }
    }

    func count(_ sql: String, _ params: [(any PostgresBindable)?] = []) throws -> Int {
        try pool.query(sql, params).first!.int("n")
    }

    func text(_ sql: String, _ params: [(any PostgresBindable)?] = []) throws -> String? {
        try pool.query(sql, params).first?.optionalString("v")
    }

    /// Lets a run's lease run out without waiting for it.
    func expireLease(_ run: UUID) throws {
        try pool.query("UPDATE collection_runs SET lease_expires_at = now() - interval '1 second' WHERE id = $1", [run])
    }
}
