import Foundation
import HubStore
import XCTest

@testable import HubServer

/// A subscribe reads the run row, then its recent items, in two statements: items that
/// commit in between reach the client as live waves, so the snapshot must stop at the run's
/// sequence number (found by tests-py/test_load_balancer.py: items 1 and 2 arrived twice).
final class SnapshotBoundTests: XCTestCase {
    func testRecentItemsStopAtTheSequenceNumberReadWithTheRun() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try h.commitItems(run: run, count: 5)
        let snapshot = try h.pool.withConnection { try FanOutQueries.recentItems($0, run: run, upTo: 2, count: 50) }
        XCTAssertEqual(snapshot.count, 2, "items committed after the run row was read were put in the snapshot")
        let none = try h.pool.withConnection { try FanOutQueries.recentItems($0, run: run, upTo: 0, count: 50) }
        XCTAssertEqual(none.count, 0)
        let newest = try h.pool.withConnection { try FanOutQueries.recentItems($0, run: run, upTo: 5, count: 3) }
        XCTAssertEqual(newest.count, 3)
        XCTAssertTrue(String(decoding: newest[0], as: UTF8.self).contains("\"seq\":3"), "the newest three are 3...5")
    }
}
