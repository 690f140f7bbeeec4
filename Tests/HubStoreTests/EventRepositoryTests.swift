import Foundation
import HubCore
import HubStore
import XCTest

/// The fan-out's reads: item pages in order, snapshots, badges and run lists, each scoped to
/// the org that asks.
final class EventRepositoryTests: XCTestCase {
    func product(_ id: String) -> NewItem {
        NewItem(itemType: .amazonProduct, externalID: id, status: .completed, dataJSON: "{\"title\":\"\(id)\"}", costCents: 2, categoryID: "beauty")
    }

    /// A running run of org A with items 1...5 committed.
    func runWithItems(_ f: StoreFixture) throws -> UUID {
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        var batch = ItemBatch(checkpoint: RunCheckpoint(), currentCategory: "beauty")
        batch.items = (1...5).map { product("P\($0)") }
        XCTAssertTrue(try f.items.itemsCommitBatch(batch, lease: lease, orgID: f.orgA.id, leaseSeconds: 30))
        return run.id
    }

    func seqs(_ page: ItemEventPage) -> [Int64] {
        page.events.compactMap { (try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])?["seq"] as? Int64 }
    }

    func testItemPagesAreInOrderAfterTheCursorAndScopedToTheOrg() throws {
        let f = try StoreFixture()
        let events = EventRepository(pool: f.pool)
        let run = try runWithItems(f)
        let first = try events.itemEventsRead(run: run, org: f.orgA.id, after: 0, limit: 2)
        XCTAssertEqual(seqs(first), [1, 2])
        XCTAssertEqual([first.lo, first.hi], [1, 2])
        let rest = try events.itemEventsRead(run: run, org: f.orgA.id, after: 2, limit: 10)
        XCTAssertEqual(seqs(rest), [3, 4, 5])
        XCTAssertEqual(try events.itemEventsRead(run: run, org: f.orgA.id, after: 5, limit: 10), .empty)
        XCTAssertEqual(try events.itemEventsRead(run: run, org: f.orgB.id, after: 0, limit: 10), .empty, "another org reads nothing")
    }

    func testSnapshotsCarryTheRunSeqAndTheRightItems() throws {
        let f = try StoreFixture()
        let events = EventRepository(pool: f.pool)
        let run = try runWithItems(f)
        let recent = try XCTUnwrap(events.runSnapshotRead(run: run, org: f.orgA.id, since: nil, limit: 10, recent: 2))
        XCTAssertEqual(recent.runSeq, 5)
        XCTAssertEqual(seqs(recent.items), [4, 5], "without since: the newest few")
        let since = try XCTUnwrap(events.runSnapshotRead(run: run, org: f.orgA.id, since: 1, limit: 3, recent: 2))
        XCTAssertEqual(seqs(since.items), [2, 3, 4], "with since: a page after it")
        XCTAssertEqual((try JSONSerialization.jsonObject(with: Data(since.runEvent)) as? [String: Any])?["type"] as? String, "run")
        XCTAssertNil(try events.runSnapshotRead(run: run, org: f.orgB.id, since: nil, limit: 10, recent: 2), "a foreign run is not found")
        XCTAssertNil(try events.runSnapshotRead(run: UUID(), org: f.orgA.id, since: nil, limit: 10, recent: 2))
        XCTAssertNotNil(try events.runEventRead(run: run, org: f.orgA.id))
        XCTAssertNil(try events.runEventRead(run: run, org: f.orgB.id))
    }

    func testBadgeAndRunListCountOnlyTheOrgsRuns() throws {
        let f = try StoreFixture()
        let events = EventRepository(pool: f.pool)
        let running = try runWithItems(f)
        let pending = try f.newRun()
        _ = try f.newRun(org: f.orgB.id, user: f.userB.id)
        let badge = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(events.orgBadgeRead(org: f.orgA.id))) as? [String: Any])
        XCTAssertEqual(badge["type"] as? String, "badge")
        XCTAssertEqual(badge["running"] as? Int, 1)
        XCTAssertEqual(badge["pending"] as? Int, 1)
        XCTAssertEqual(badge["paused"] as? Int, 0)
        let runs = try events.orgRunEventsRead(org: f.orgA.id)
        XCTAssertEqual(Set(runs.map(\.run)), [running.uuidString.lowercased(), pending.id.uuidString.lowercased()])
        let snapshot = try events.orgSnapshotRead(org: f.orgA.id)
        XCTAssertEqual(snapshot.runs.count, 2)
        XCTAssertEqual(snapshot.badge, try events.orgBadgeRead(org: f.orgA.id))
    }
}
