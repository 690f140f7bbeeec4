import Foundation
import HubCore
import HubStore
import XCTest

final class CatalogRepositoryTests: XCTestCase {
    func testCategoryListIsTheSeededCatalogInOrder() throws {
        let f = try StoreFixture()
        let catalog = CatalogRepository(pool: f.pool)
        let list = try catalog.categoryList()
        XCTAssertEqual(list.map(\.id), ["electronics", "home-kitchen", "toys-games", "books", "sports-outdoors", "beauty", "collectibles", "tools"])
        XCTAssertEqual(list.first { $0.id == "beauty" }, Category(id: "beauty", name: "Beauty", expectedProducts: 30, expectedSellersPerProduct: 5))
        try f.pool.query("INSERT INTO categories (id, name, expected_products, sort_order) VALUES ('aaa-first', 'First', 1, -1)")
        XCTAssertEqual(try catalog.categoryList().first?.id, "aaa-first", "sort_order decides, not the id")
    }

    func testCategoryFindKeepsTheGivenOrderAndLeavesUnknownsOut() throws {
        let f = try StoreFixture()
        let catalog = CatalogRepository(pool: f.pool)
        XCTAssertEqual(try catalog.categoryFind(["tools", "mars", "beauty"]).map(\.id), ["tools", "beauty"])
        XCTAssertEqual(try catalog.categoryFind([]).count, 0)
        XCTAssertEqual(try catalog.categoryFind(["BEAUTY", "beauty'; --"]).count, 0, "ids match exactly")
        XCTAssertEqual(try catalog.categoryFind(["books", "books"]).map(\.id), ["books", "books"])
    }

    func testSettingsDefaultUpsertAndIsolation() throws {
        let f = try StoreFixture()
        let catalog = CatalogRepository(pool: f.pool)
        XCTAssertEqual(try catalog.settingsGet(orgID: f.orgA.id), BudgetSettings(), "no row: the defaults")
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM collection_settings"), 0, "reading writes nothing")

        let custom = BudgetSettings(budgetCapCents: 999, softWarningPercent: 42, maxConcurrentRuns: 9)
        try f.pool.withTransaction { try catalog.settingsPut(orgID: f.orgA.id, custom, on: $0) }
        XCTAssertEqual(try catalog.settingsGet(orgID: f.orgA.id), custom)
        XCTAssertEqual(try catalog.settingsGet(orgID: f.orgB.id), BudgetSettings())
        XCTAssertNil(try f.text("SELECT updated_at::text AS v FROM collection_settings WHERE org_id = $1", [f.orgA.id]))

        let changed = BudgetSettings(budgetCapCents: 5, softWarningPercent: 100, maxConcurrentRuns: 1)
        try f.pool.withTransaction { try catalog.settingsPut(orgID: f.orgA.id, changed, on: $0) }
        XCTAssertEqual(try catalog.settingsGet(orgID: f.orgA.id), changed)
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM collection_settings"), 1)
        XCTAssertNotNil(try f.text("SELECT updated_at::text AS v FROM collection_settings WHERE org_id = $1", [f.orgA.id]))
        // Inside a transaction the uncommitted value is what the same connection reads.
        try f.pool.withConnection { c in
            try c.query("BEGIN")
            try catalog.settingsPut(orgID: f.orgB.id, custom, on: c)
            XCTAssertEqual(try catalog.settingsGet(orgID: f.orgB.id, on: c), custom)
            XCTAssertEqual(try catalog.settingsGet(orgID: f.orgB.id), BudgetSettings(), "not visible to others before commit")
            try c.query("ROLLBACK")
        }
        XCTAssertEqual(try catalog.settingsGet(orgID: f.orgB.id), BudgetSettings())
    }

    func testActivityRecordWritesOneRowInTheCallersTransaction() throws {
        let f = try StoreFixture()
        let audit = ActivityLogRepository()
        let run = try f.newRun()
        try f.pool.withTransaction { c in
            try audit.activityRecord(c, orgID: f.orgA.id, userID: f.userA.id, runID: run.id, action: "collection.run.pause",
                                     details: ["z": "last", "a": "first \"quoted\""], ipAddress: "10.0.0.1", userAgent: "ua")
        }
        let row = try XCTUnwrap(f.pool.query("SELECT * FROM activity_logs").first)
        XCTAssertEqual(try row.string("action"), "collection.run.pause")
        XCTAssertEqual(try row.string("resource_type"), "collection_run")
        XCTAssertEqual(try row.uuid("org_id"), f.orgA.id)
        XCTAssertEqual(try row.uuid("user_id"), f.userA.id)
        XCTAssertEqual(try row.uuid("run_id"), run.id)
        XCTAssertEqual(try row.string("details"), #"{"a":"first \"quoted\"","z":"last"}"#)
        XCTAssertEqual(try row.string("ip_address"), "10.0.0.1")
        XCTAssertEqual(try row.string("user_agent"), "ua")

        struct Abort: Error {}
        XCTAssertThrowsError(try f.pool.withTransaction { c in
            try audit.activityRecord(c, orgID: f.orgA.id, userID: nil, runID: nil, action: "rolled.back")
            throw Abort()
        })
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM activity_logs"), 1, "a rolled-back action leaves no trail")
    }
}
