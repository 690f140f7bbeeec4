import Foundation
import HubCore
@testable import HubServer
import HubStore
import HubTestSupport
import Logging
import XCTest

/// How one drain's notifications land in run and org topics before a flush: items append
/// to the wave, run state coalesces (latest wins), budget warnings are each kept. No
/// loop and no sockets: topics without subscribers, driven directly.
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

    func runTopic(_ f: FanOut, _ key: String, lastSeq: Int64? = 0) -> RunTopic {
        let t = RunTopic(key: key, runID: UUID(uuidString: key)!)
        t.lastSeq = lastSeq
        f.runTopics[key] = t
        return t
    }

    func orgTopic(_ f: FanOut, _ key: String) -> OrgTopic {
        let t = OrgTopic(key: key, orgID: UUID(uuidString: key)!)
        f.orgTopics[key] = t
        return t
    }

    func item(_ seq: Int64) -> String { "{\"type\":\"item\",\"run\":\"\(run)\",\"seq\":\(seq)}" }

    func route(_ f: FanOut, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        let bytes = Array(text.utf8)
        guard let p = NotificationPayload.parse(bytes) else { return XCTFail("not a payload: \(text)", file: file, line: line) }
        f.route(p, bytes)
    }

    func items(_ lo: Int64, _ hi: Int64, run r: String? = nil, inline: Bool = true) -> String {
        let head = "{\"k\":\"items\",\"org\":\"\(org)\",\"run\":\"\(r ?? run)\",\"lo\":\(lo),\"hi\":\(hi)"
        return inline ? head + ",\"ev\":[" + (lo...hi).map(item).joined(separator: ",") + "]}" : head + "}"
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
        let topic = runTopic(f, run)
        let orgs = orgTopic(f, org)
        let a = runEvent(run, "running"), b = runEvent(run, "paused"), c = runEvent(run2, "pending")
        for e in [a, b, c] { route(f, e.payload) }
        XCTAssertEqual(text(topic.pendingRun), b.event)
        XCTAssertEqual(orgs.pendingRuns.mapValues { String(decoding: $0, as: UTF8.self) }, [run: b.event, run2: c.event])
        XCTAssertTrue(topic.dirty)
        XCTAssertTrue(orgs.dirty)
        XCTAssertNil(f.runTopics[run2], "no topic is made for a run nobody watches")
        XCTAssertEqual(f.metrics.eventsReceived, 3)

        f.flush(receivedAt: nil)
        XCTAssertEqual(text(topic.latestRunEvent), b.event, "the delivered wave's run event is the latest")
        XCTAssertNil(topic.pendingRun)
        XCTAssertTrue(orgs.pendingRuns.isEmpty)
        XCTAssertFalse(topic.dirty)
        XCTAssertFalse(orgs.dirty)
    }

    func testBudgetWarningsAreEachKept() throws {
        let f = try makeFanOut()
        let topic = runTopic(f, run)
        let orgs = orgTopic(f, org)
        let w1 = warning(1), w2 = warning(2)
        route(f, w1.payload)
        route(f, w2.payload)
        XCTAssertEqual(topic.pendingWarnings.map { String(decoding: $0, as: UTF8.self) }, [w1.event, w2.event])
        XCTAssertEqual(orgs.pendingWarnings.map { String(decoding: $0, as: UTF8.self) }, [w1.event, w2.event])
        f.flush(receivedAt: nil)
        XCTAssertTrue(topic.pendingWarnings.isEmpty)
        XCTAssertTrue(orgs.pendingWarnings.isEmpty)
    }

    func testOtherOrgsAndSellersTouchNothing() throws {
        let f = try makeFanOut()
        let topic = runTopic(f, run)
        let orgs = orgTopic(f, org)
        route(f, runEvent(run2, "running", org: otherOrg, changed: true).payload)
        route(f, "{\"k\":\"sellers\",\"org\":\"\(org)\",\"n\":3}")
        XCTAssertTrue(orgs.pendingRuns.isEmpty)
        XCTAssertFalse(orgs.dirty)
        XCTAssertFalse(orgs.recountInFlight)
        XCTAssertNil(topic.pendingRun)
        XCTAssertFalse(topic.dirty)
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

    func testContiguousItemsJoinOneWaveAndRepeatsAreDropped() throws {
        let f = try makeFanOut()
        let topic = runTopic(f, run, lastSeq: 0)
        route(f, items(1, 2))
        route(f, items(3, 3))
        route(f, items(2, 3))  // already seen: a second hub's replay, or a duplicate drain
        route(f, items(4, 5))
        XCTAssertEqual(topic.lastSeq, 5)
        XCTAssertEqual(topic.wave.lo, 1)
        XCTAssertEqual(topic.wave.hi, 5)
        XCTAssertEqual(text(topic.wave.frame()), "[" + (1...5).map(item).joined(separator: ",") + "]")
        XCTAssertFalse(topic.backfilling)
        XCTAssertTrue(topic.queued.isEmpty)
        XCTAssertEqual(f.metrics.eventsReceived, 7)
        // Items of an unwatched run are counted and otherwise ignored.
        route(f, items(1, 1, run: run2))
        XCTAssertNil(f.runTopics[run2])

        f.flush(receivedAt: nil)
        XCTAssertTrue(topic.wave.isEmpty, "the flush hands the wave on and starts a new one")
        XCTAssertEqual(topic.lastSeq, 5)
    }

    func testItemsBeforeTheFirstReadWaitInTheQueue() throws {
        let f = try makeFanOut()
        let topic = runTopic(f, run, lastSeq: nil)
        route(f, items(1, 2))
        XCTAssertEqual(topic.queued.count, 1)
        XCTAssertFalse(topic.wave.hasItems)
        XCTAssertFalse(topic.backfilling)
    }

    func testAGapOrAnEventlessPayloadIsReadFromTheTable() throws {
        let f = try makeFanOut()
        let gap = runTopic(f, run, lastSeq: 2)
        route(f, items(5, 6))
        XCTAssertTrue(gap.backfilling)
        XCTAssertEqual(gap.queued.count, 1)
        XCTAssertEqual(gap.lastSeq, 2, "nothing past the gap is taken until the table has been read")
        XCTAssertFalse(gap.wave.hasItems)

        let big = runTopic(f, run2, lastSeq: 0)
        route(f, items(1, 400, run: run2, inline: false))
        XCTAssertTrue(big.backfilling)
        XCTAssertEqual(big.queued.count, 1)
        XCTAssertEqual(f.metrics.backfills, 2)
        // While a read is in flight, further notifications queue behind it, in order.
        route(f, items(401, 401, run: run2))
        XCTAssertEqual(big.queued.map(\.0.lo), [1, 401])
        XCTAssertEqual(f.metrics.backfills, 2)
    }
}
