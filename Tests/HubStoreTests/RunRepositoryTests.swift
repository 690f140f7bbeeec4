import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

final class RunRepositoryTests: XCTestCase {
    func testCreateSnapshotsEstimateAndSettings() throws {
        let f = try StoreFixture()
        let run = try f.newRun(name: "Spring", settings: BudgetSettings(budgetCapCents: 900, softWarningPercent: 60, maxConcurrentRuns: 2))
        XCTAssertEqual(run.orgID, f.orgA.id)
        XCTAssertEqual(run.name, "Spring")
        XCTAssertEqual(run.status, .pending)
        XCTAssertNil(run.statusReason)
        XCTAssertEqual(run.estimatedCostCents, 210)
        XCTAssertEqual(run.budgetCapCents, 900)
        XCTAssertEqual(run.softWarningPercent, 60)
        XCTAssertEqual(run.totalItems, 180)
        XCTAssertEqual(run.categoryIDs, ["beauty"])
        XCTAssertEqual(run.checkpoint, RunCheckpoint())
        XCTAssertEqual(run.itemSeq, 0)
        XCTAssertEqual(run.leaseToken, 0)
        XCTAssertNil(run.leaseOwner)
        XCTAssertEqual(run.createdBy, f.userA.id)
        let row = try XCTUnwrap(f.pool.query("SELECT (estimate->>'total_cents')::int AS total, status FROM collection_runs WHERE id = $1", [run.id]).first)
        XCTAssertEqual(try row.int("total"), 210)
        XCTAssertEqual(try row.string("status"), "pending")
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id), run)
    }

    func testGetAndListNeverCrossOrgs() throws {
        let f = try StoreFixture()
        let a = try f.newRun(org: f.orgA.id, user: f.userA.id)
        let b = try f.newRun(org: f.orgB.id, user: f.userB.id)
        XCTAssertNil(try f.runs.runGet(orgID: f.orgB.id, runID: a.id))
        XCTAssertNil(try f.runs.runGet(orgID: f.orgA.id, runID: b.id))
        XCTAssertNil(try f.runs.runGet(orgID: f.orgA.id, runID: UUID()))
        XCTAssertEqual(try f.runs.runList(orgID: f.orgA.id, status: nil, limit: 50, before: nil).map(\.id), [a.id])
        XCTAssertEqual(try f.runs.runList(orgID: f.orgB.id, status: nil, limit: 50, before: nil).map(\.id), [b.id])
        XCTAssertEqual(try f.runs.runList(orgID: UUID(), status: nil, limit: 50, before: nil).count, 0)
    }

    func testListOrdersByCreationThenIdAndPagesByCursor() throws {
        let f = try StoreFixture()
        var ids: [UUID] = []
        for _ in 0..<5 { ids.append(try f.newRun().id) }
        // Two runs share an instant: the id breaks the tie.
        try f.pool.query("UPDATE collection_runs SET created_at = (SELECT created_at FROM collection_runs WHERE id = $1) WHERE id = $2", [ids[3], ids[4]])
        try f.pool.query("UPDATE collection_runs SET status = 'paused', status_reason = 'admin' WHERE id = $1", [ids[0]])
        let all = try f.runs.runList(orgID: f.orgA.id, status: nil, limit: 50, before: nil)
        let expected = try f.pool.query("SELECT id FROM collection_runs ORDER BY created_at DESC, id DESC").rows.map { try $0.uuid("id") }
        XCTAssertEqual(all.map(\.id), expected)
        XCTAssertEqual(Set(all.map(\.id)), Set(ids))

        var walked: [UUID] = []
        var cursor: (Date, UUID)?
        while walked.count < 10 {
            let page = try f.runs.runList(orgID: f.orgA.id, status: nil, limit: 2, before: cursor)
            walked += page.map(\.id)
            guard page.count == 2, let last = page.last else { break }
            cursor = (last.createdAt, last.id)
        }
        XCTAssertEqual(walked, expected, "pages of 2 walk every run once")
        XCTAssertEqual(try f.runs.runList(orgID: f.orgA.id, status: .paused, limit: 50, before: nil).map(\.id), [ids[0]])
        XCTAssertEqual(try f.runs.runList(orgID: f.orgA.id, status: .pending, limit: 50, before: nil).count, 4)
        XCTAssertEqual(try f.runs.runList(orgID: f.orgA.id, status: .running, limit: 50, before: nil).count, 0)
    }

    func testTransitionsAreGuardedAndWriteTheirTimestamps() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        func apply(_ command: RunCommand, org: UUID? = nil) throws -> RunRecord {
            try f.pool.withTransaction { try f.runs.runTransition(orgID: org ?? f.orgA.id, runID: run.id, command: command, on: $0) }
        }
        XCTAssertThrowsError(try apply(.pause(.admin))) { XCTAssertTrue($0 is RunTransitionError, "\($0)") }
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.status, .pending)

        try f.pool.query("UPDATE collection_runs SET status = 'running', lease_owner = 'e', lease_token = 4, lease_expires_at = now() + interval '1 hour' WHERE id = $1", [run.id])
        let paused = try apply(.pause(.admin))
        XCTAssertEqual(paused.state, RunState(status: .paused, reason: .admin))
        XCTAssertNotNil(paused.pausedAt)
        XCTAssertEqual(try f.count("SELECT (lease_expires_at > now())::int AS n FROM collection_runs WHERE id = $1", [run.id]), 1,
                       "a pause keeps the lease: the executor notices through its fence")
        XCTAssertThrowsError(try apply(.resume(by: .engine)), "the engine never undoes an admin pause")

        let resumed = try apply(.resume(by: .admin))
        XCTAssertEqual(resumed.state, RunState(status: .running))
        XCTAssertEqual(try f.count("SELECT (lease_expires_at <= now())::int AS n FROM collection_runs WHERE id = $1", [run.id]), 1,
                       "a resumed run drops its lease so any scheduler may take it")

        XCTAssertThrowsError(try apply(.cancel, org: f.orgB.id)) { XCTAssertEqual($0 as? StoreError, .notFound("no such run")) }
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.status, .running)

        let cancelled = try apply(.cancel)
        XCTAssertEqual(cancelled.state, RunState(status: .cancelled, reason: .cancelledByAdmin))
        XCTAssertNotNil(cancelled.completedAt)
        for command in [RunCommand.cancel, .pause(.admin), .resume(by: .admin), .complete(nil), .fail(.providerError)] {
            XCTAssertThrowsError(try apply(command), "\(command) after cancel")
        }
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.status, .cancelled)
        XCTAssertThrowsError(try f.pool.withTransaction { try f.runs.runTransition(orgID: f.orgA.id, runID: UUID(), command: .cancel, on: $0) }) {
            XCTAssertEqual($0 as? StoreError, .notFound("no such run"))
        }
    }

    /// The race CI met: the scheduler starts a pending run while an admin cancels it. The
    /// admin's cancel is valid against either state, so it must wait and win, never answer 409.
    func testACommandRacingAConcurrentStartWaitsAndAppliesToTheStartedRun() throws {
        for command in [RunCommand.cancel, .pause(.admin)] {
            let f = try StoreFixture()
            let run = try f.newRun()
            let outcome = TransitionOutcome()
            let (pool, runs, org) = (f.pool, f.runs, f.orgA.id)
            try f.pool.withTransaction { starter in
                try starter.query("""
                    UPDATE collection_runs SET status = 'running', lease_owner = 'e', lease_token = 1,
                        lease_expires_at = now() + interval '1 hour' WHERE id = $1
                    """, [run.id])
                DispatchQueue.global().async {
                    outcome.set(Result { try pool.withTransaction { try runs.runTransition(orgID: org, runID: run.id, command: command, on: $0) } })
                }
                // The start commits only once the command is queued behind it on the row.
                XCTAssertTrue(waitUntil(timeout: 20) {
                    (try? f.count("""
                        SELECT count(*)::int AS n FROM pg_stat_activity
                        WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0
                        """)) ?? 0 > 0
                }, "the \(command) never waited for the start")
            }
            XCTAssertTrue(waitUntil(timeout: 20) { outcome.value != nil })
            let applied = try XCTUnwrap(outcome.value).get()
            XCTAssertEqual(applied.state, try RunLifecycle.apply(command, to: RunState(status: .running)).to, "\(command)")
            XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.state, applied.state)
        }
    }

    func testCountsAreLiveRunsOfOneOrg() throws {
        let f = try StoreFixture()
        for status in ["pending", "pending", "running", "paused", "completed", "failed", "cancelled"] {
            let run = try f.newRun()
            try f.pool.query("UPDATE collection_runs SET status = $2 WHERE id = $1", [run.id, status])
        }
        _ = try f.newRun(org: f.orgB.id, user: f.userB.id)
        let a = try f.runs.runCounts(orgID: f.orgA.id)
        XCTAssertEqual([a.running, a.pending, a.paused], [1, 2, 1])
        let b = try f.runs.runCounts(orgID: f.orgB.id)
        XCTAssertEqual([b.running, b.pending, b.paused], [0, 1, 0])
        let none = try f.runs.runCounts(orgID: UUID())
        XCTAssertEqual([none.running, none.pending, none.paused], [0, 0, 0])
    }
}

/// The result of a transition run on another thread.
final class TransitionOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<RunRecord, Error>?
    func set(_ r: Result<RunRecord, Error>) { lock.withLock { result = r } }
    var value: Result<RunRecord, Error>? { lock.withLock { result } }
}
