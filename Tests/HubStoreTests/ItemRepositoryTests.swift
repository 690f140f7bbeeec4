import Foundation
import HubCore
import HubStore
import XCTest

final class ItemRepositoryTests: XCTestCase {
    func product(_ id: String, _ status: ItemStatus = .completed, cost: Int = 2) -> NewItem {
        NewItem(itemType: .amazonProduct, externalID: id, status: status, dataJSON: "{\"title\":\"\(id)\"}",
                errorCode: status == .failed ? "gone" : nil, errorMessage: status == .failed ? "404 from provider" : nil,
                costCents: cost, categoryID: "beauty")
    }

    func seller(_ id: String, _ name: String, feedback: Int? = nil, status: ItemStatus = .completed) -> NewItem {
        NewItem(itemType: .ebaySeller, externalID: id, status: status, costCents: 1, categoryID: "beauty",
                seller: NewSeller(displayName: name, platformID: id, feedbackScore: feedback))
    }

    func batch(_ items: [NewItem], offset: Int = 0, category: String? = "beauty", warned: Bool = false) -> ItemBatch {
        var b = ItemBatch(checkpoint: RunCheckpoint(), currentCategory: category)
        b.checkpoint.productOffset = offset
        b.items = items
        b.budgetWarned = warned
        return b
    }

    func testCommitWritesItemsCountersCheckpointAndSellersTogether() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        let first = batch([product("P1"), product("P2", .failed), product("P3", .skipped, cost: 0),
                           seller("S1", "Acme  Store", feedback: 90), seller("S2", "Other")], offset: 3)
        XCTAssertTrue(try f.items.itemsCommitBatch(first, lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        var run1 = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual([run1.processedItems, run1.failedItems, run1.skippedItems], [3, 1, 1])
        XCTAssertEqual(run1.actualCostCents, 2 + 2 + 0 + 1 + 1)
        XCTAssertEqual(run1.itemSeq, 5)
        XCTAssertEqual(run1.checkpoint?.lastSeq, 5, "the checkpoint names the last committed seq")
        XCTAssertEqual(run1.checkpoint?.productOffset, 3)
        XCTAssertEqual(run1.currentCategory, "beauty")
        XCTAssertNil(run1.budgetWarnedAt)

        let rows = try f.pool.query("SELECT seq, external_id, status, org_id, seller_id, error_code FROM collection_items WHERE run_id = $1 ORDER BY seq", [run.id]).rows
        XCTAssertEqual(try rows.map { try $0.int64("seq") }, [1, 2, 3, 4, 5])
        XCTAssertEqual(try rows.map { try $0.string("external_id") }, ["P1", "P2", "P3", "S1", "S2"])
        XCTAssertEqual(try rows.map { try $0.uuid("org_id") }, Array(repeating: f.orgA.id, count: 5))
        XCTAssertEqual(try rows[1].optionalString("error_code"), "gone")
        XCTAssertNil(try rows[0].optionalUUID("seller_id"))
        let acme = try XCTUnwrap(rows[3].optionalUUID("seller_id"))

        // The same seller under another spelling is the same row, seen twice.
        let second = batch([seller("S3", "acme store"), product("P4")], warned: true)
        XCTAssertTrue(try f.items.itemsCommitBatch(second, lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        let sellers = try f.pool.query("SELECT id, times_seen, feedback_score, normalized_name FROM sellers WHERE org_id = $1 ORDER BY normalized_name", [f.orgA.id]).rows
        XCTAssertEqual(sellers.count, 2)
        XCTAssertEqual(try sellers[0].uuid("id"), acme)
        XCTAssertEqual(try sellers[0].int("times_seen"), 2)
        XCTAssertEqual(try sellers[0].optionalInt("feedback_score"), 90, "a missing score keeps the known one")
        XCTAssertEqual(try f.text("SELECT seller_id::text AS v FROM collection_items WHERE run_id = $1 AND external_id = 'S3'", [run.id]),
                       acme.uuidString.lowercased())
        run1 = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual(run1.itemSeq, 7)
        XCTAssertNotNil(run1.budgetWarnedAt)
        XCTAssertEqual(try f.items.itemsSellerIDs(runID: run.id), ["S1", "S2", "S3"])

        // A batch without items still moves the checkpoint and renews the lease.
        try f.pool.query("UPDATE collection_runs SET lease_expires_at = now() + interval '1 second' WHERE id = $1", [run.id])
        XCTAssertTrue(try f.items.itemsCommitBatch(batch([], offset: 9), lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        run1 = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual(run1.itemSeq, 7)
        XCTAssertEqual(run1.checkpoint?.productOffset, 9)
        XCTAssertEqual(try f.count("SELECT (lease_expires_at > now() + interval '20 seconds')::int AS n FROM collection_runs WHERE id = $1", [run.id]), 1)
    }

    func testAFencedOrStoppedRunTakesNoBatch() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, old) = try XCTUnwrap(f.runs.runClaimNext(owner: "old", leaseSeconds: 30))
        try f.expireLease(run.id)
        let (_, new) = try XCTUnwrap(f.runs.runClaimNext(owner: "new", leaseSeconds: 30))
        XCTAssertFalse(try f.items.itemsCommitBatch(batch([product("P1"), seller("S1", "Stale Seller")]), lease: old, orgID: f.orgA.id, leaseSeconds: 30))
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM collection_items"), 0)
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM sellers"), 0, "the whole batch rolls back, sellers too")
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.processedItems, 0)

        XCTAssertTrue(try f.items.itemsCommitBatch(batch([product("P1")]), lease: new, orgID: f.orgA.id, leaseSeconds: 30))
        _ = try f.pool.withTransaction { try f.runs.runTransition(orgID: f.orgA.id, runID: run.id, command: .pause(.admin), on: $0) }
        XCTAssertFalse(try f.items.itemsCommitBatch(batch([product("P2")]), lease: new, orgID: f.orgA.id, leaseSeconds: 30),
                       "a paused run takes no more items even from its lease holder")
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM collection_items"), 1)
    }

    func testAnItemWrittenTwiceRollsTheBatchBack() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        XCTAssertTrue(try f.items.itemsCommitBatch(batch([product("P1")]), lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        XCTAssertThrowsError(try f.items.itemsCommitBatch(batch([product("P2"), product("P1")]), lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM collection_items WHERE run_id = $1", [run.id]), 1)
        let after = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual([after.processedItems, Int(after.itemSeq)], [1, 1], "counters roll back with the items")
    }

    func testListFiltersAndPagesBySeq() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        XCTAssertTrue(try f.items.itemsCommitBatch(batch([product("P1"), product("P2", .failed), seller("S1", "X"), product("P3")]),
                                                   lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        func seqs(status: ItemStatus? = nil, type: ItemType? = nil, after: Int64? = nil, before: Int64? = nil, limit: Int = 50) throws -> [Int64] {
            try f.items.itemsList(runID: run.id, status: status, itemType: type, after: after, before: before, limit: limit).map(\.seq)
        }
        XCTAssertEqual(try seqs(), [4, 3, 2, 1])
        XCTAssertEqual(try seqs(after: 0), [1, 2, 3, 4])
        XCTAssertEqual(try seqs(after: 1, limit: 2), [2, 3])
        XCTAssertEqual(try seqs(before: 3), [2, 1])
        XCTAssertEqual(try seqs(status: .failed), [2])
        XCTAssertEqual(try seqs(type: .ebaySeller), [3])
        XCTAssertEqual(try seqs(status: .completed, type: .amazonProduct, after: 0), [1, 4])
        let item = try XCTUnwrap(f.items.itemsList(runID: run.id, status: .failed, itemType: nil, after: nil, before: nil, limit: 1).first)
        XCTAssertEqual(item.externalID, "P2")
        XCTAssertEqual(item.errorCode, "gone")
        XCTAssertEqual(item.errorMessage, "404 from provider")
        XCTAssertEqual(item.runID, run.id)
        XCTAssertEqual(item.categoryID, "beauty")
        XCTAssertEqual(try f.items.itemsList(runID: UUID(), status: nil, itemType: nil, after: nil, before: nil, limit: 50).count, 0)
    }

    func testSellersListIsPerOrgOrderedAndSearchable() throws {
        let f = try StoreFixture()
        let runA = try f.newRun()
        let runB = try f.newRun(org: f.orgB.id, user: f.userB.id)
        let (_, leaseA) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        let (_, leaseB) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        let (a, b) = leaseA.runID == runA.id ? (leaseA, leaseB) : (leaseB, leaseA)
        XCTAssertEqual(b.runID, runB.id)
        XCTAssertTrue(try f.items.itemsCommitBatch(batch([seller("1", "Zed"), seller("2", "Ann_Shop"), seller("3", "zed"), seller("4", "ZannXShop")]),
                                                   lease: a, orgID: f.orgA.id, leaseSeconds: 30))
        XCTAssertTrue(try f.items.itemsCommitBatch(batch([seller("9", "Zed"), seller("8", "Secret B")]), lease: b, orgID: f.orgB.id, leaseSeconds: 30))

        let all = try f.items.sellersList(orgID: f.orgA.id, search: nil, limit: 50, offset: 0)
        XCTAssertEqual(all.map(\.normalizedName), ["zed", "ann_shop", "zannxshop"], "most seen first, then by name")
        XCTAssertEqual(all.first?.timesSeen, 2)
        XCTAssertEqual(all.first?.firstSeenRunID, runA.id)
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgA.id, search: "ANN_", limit: 50, offset: 0).map(\.displayName), ["Ann_Shop"],
                       "the search is normalized and its _ is literal")
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgA.id, search: "%", limit: 50, offset: 0).count, 0)
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgA.id, search: "secret", limit: 50, offset: 0).count, 0)
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgA.id, search: nil, limit: 2, offset: 2).map(\.normalizedName), ["zannxshop"])
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgB.id, search: nil, limit: 50, offset: 0).map(\.normalizedName), ["secret b", "zed"])
        XCTAssertEqual(try f.items.sellersList(orgID: f.orgB.id, search: "zed", limit: 50, offset: 0).first?.timesSeen, 1,
                       "org B's Zed is its own row")
    }
}
