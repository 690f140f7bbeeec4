import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// A run's updated_at must grow in the order its versions are written: the dashboard drops a
/// state whose updated_at is older than the one it shows.
final class RunVersionOrderTests: XCTestCase {
    /// The admin's pause reads the run, the engine's batch commits meanwhile, then the pause
    /// writes: the pause is the newer version and must carry the later updated_at (with
    /// `updated_at = now()` it carried its transaction's start, older than the batch's).
    func testAWriterThatStartedFirstButWroteLastStampsTheLaterTime() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        try f.pool.query("UPDATE collection_runs SET status = 'running', lease_owner = 'e', lease_token = 4, lease_expires_at = now() + interval '1 hour' WHERE id = $1", [run.id])
        var batchStamp: Date?
        let paused = try f.pool.withTransaction { c -> RunRecord in
            _ = try c.query("SELECT now() AS started")  // the pause's transaction has begun
            batchStamp = try f.pool.query("""
                UPDATE collection_runs SET processed_items = processed_items + 1, updated_at = now()
                WHERE id = $1 RETURNING updated_at
                """, [run.id]).first?.optionalDate("updated_at")
            return try f.runs.runTransition(orgID: f.orgA.id, runID: run.id, command: .pause(.admin), on: c)
        }
        let batch = try XCTUnwrap(batchStamp)
        let pause = try XCTUnwrap(paused.updatedAt)
        XCTAssertGreaterThan(pause, batch, "the pause, written after the batch, must look newer than the batch")
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.updatedAt, pause, "RETURNING shows the stored stamp")
    }

    /// Whatever a writer sets (here a fixed old time), each version is stamped later than the last.
    func testEveryUpdateStampsStrictlyLater() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        var last: Date?
        for _ in 0..<50 {
            let stamp = try XCTUnwrap(try f.pool.query(
                "UPDATE collection_runs SET processed_items = processed_items + 1, updated_at = '2000-01-01T00:00:00Z' WHERE id = $1 RETURNING updated_at",
                [run.id]).first?.optionalDate("updated_at"))
            if let last { XCTAssertGreaterThan(stamp, last) }
            last = stamp
        }
    }
}
