import Foundation
import HubCore
@testable import HubServer
import HubStore
import HubTestSupport
import Logging
import XCTest

/// How one drain's notifications land in org topics before a flush: run state coalesces
/// (latest wins), budget warnings are each kept. No loop and no sockets: topics without
/// subscribers, driven directly. Run topics are `FanOutCore`'s (HubCoreTests).
final class FanOutRoutingTests: XCTestCase {
    let org = UUID().uuidString.lowercased()
    let otherOrg = UUID().uuidString.lowercased()
    let run = UUID().uuidString.lowercased()
    let run2 = UUID().uuidString.lowercased()

    /// One database for the class: only the fan-out's background reads touch it.
    nonisolated(unsafe) static var database: String?

    func makeFanOut() throws -> FanOut {
        if Self.database == nil { Self.database = try TestDatabase.shared.migratedDatabase() }
        let db = try XCTUnwrap(Self.database)
        let pool = try ConnectionPool(.init(conninfo: db, maxConnections: 2))
        addTeardownBlock { pool.close() }
        var logger = Logger(label: "test.fanout")
        logger.logLevel = .critical
        let workers = DatabaseWorkers(threads: 2, queueLimit: 16)
        addTeardownBlock { workers.stop() }
        return FanOut(config: HubConfig(publicDirectory: FileManager.default.temporaryDirectory, conninfo: db), pool: pool,
                      db: workers, logger: logger)
    }

    func orgTopic(_ f: FanOut, _ key: String) -> OrgTopic {
        let t = OrgTopic(key: key, orgID: UUID(uuidString: key)!)
        f.orgTopics[key] = t
        return t
    }

    func route(_ f: FanOut, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)
        guard let p = NotificationPayload.parse(bytes) else { return XCTFail("not a payload: \(text)", file: file, line: line) }
        f.route(p, bytes)
    }

    func runEvent(_ r: String, _ marker: String, org o: String? = nil, changed: Bool = false) -> (payload: String, event: String) {
        let event = "{\"type\":\"run\",\"run\":\"\(r)\",\"status\":\"\(marker)\"}"
        return ("{\"k\":\"run\",\"org\":\"\(o ?? org)\",\"run\":\"\(r)\",\"seq\":0,\"status_changed\":\(changed),\"ev\":\(event)}", event)
    }

    func warning(_ n: Int) -> (payload: String, event: String) {
        let event = "{\"type\":\"budget_warning\",\"run\":\"\(run)\",\"n\":\(n)}"
        return ("{\"k\":\"budget_warning\",\"org\":\"\(org)\",\"run\":\"\(run)\",\"seq\":0,\"ev\":\(event)}", event)
    }

    func text(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }

    func testRunStateCoalescesLatestWinsPerRun() throws {
        let f = try makeFanOut()
        let orgs = orgTopic(f, org)
        let a = runEvent(run, "running"), b = runEvent(run, "paused"), c = runEvent(run2, "pending")
        for e in [a, b, c] { route(f, e.payload) }
        XCTAssertEqual(orgs.pendingRuns.mapValues { String(decoding: $0, as: UTF8.self) }, [run: b.event, run2: c.event])
        XCTAssertTrue(orgs.dirty)
        XCTAssertNil(f.core.feeds[run2], "no topic is made for a run nobody watches")
        XCTAssertEqual(f.metrics.eventsReceived, 3)

        f.flush(receivedAt: nil)
        XCTAssertTrue(orgs.pendingRuns.isEmpty)
        XCTAssertFalse(orgs.dirty)
    }

    func testBudgetWarningsAreEachKept() throws {
        let f = try makeFanOut()
        let orgs = orgTopic(f, org)
        let w1 = warning(1), w2 = warning(2)
        route(f, w1.payload)
        route(f, w2.payload)
        XCTAssertEqual(orgs.pendingWarnings.map { String(decoding: $0, as: UTF8.self) }, [w1.event, w2.event])
        f.flush(receivedAt: nil)
        XCTAssertTrue(orgs.pendingWarnings.isEmpty)
    }

    func testOtherOrgsAndSellersTouchNothing() throws {
        let f = try makeFanOut()
        let orgs = orgTopic(f, org)
        route(f, runEvent(run2, "running", org: otherOrg, changed: true).payload)
        route(f, "{\"k\":\"sellers\",\"org\":\"\(org)\",\"n\":3}")
        XCTAssertTrue(orgs.pendingRuns.isEmpty)
        XCTAssertFalse(orgs.dirty)
        XCTAssertFalse(orgs.recountInFlight)
        XCTAssertTrue(f.core.feeds.isEmpty)
    }

    func testOnlyStatusChangesRecountTheBadge() throws {
        let f = try makeFanOut()
        let orgs = orgTopic(f, org)
        route(f, runEvent(run, "running", changed: false).payload)
        XCTAssertFalse(orgs.recountInFlight, "a progress update does not move the badge")
        route(f, runEvent(run, "paused", changed: true).payload)
        XCTAssertTrue(orgs.recountInFlight)
        route(f, runEvent(run, "running", changed: true).payload)
        XCTAssertTrue(orgs.recountAgain, "one recount in flight per org; the next is queued behind it")
    }
}
