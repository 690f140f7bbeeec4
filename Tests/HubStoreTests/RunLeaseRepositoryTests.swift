import Foundation
import HubCore
import HubStore
import XCTest

/// The scheduler's side of runs: claims, leases, fences.
final class RunLeaseRepositoryTests: XCTestCase {
    func testClaimStartsTheOldestPendingRunAndBumpsTheFence() throws {
        let f = try StoreFixture()
        XCTAssertNil(try f.runs.runClaimNext(owner: "e1", leaseSeconds: 30), "nothing to claim")
        let older = try f.newRun(name: "older")
        let newer = try f.newRun(name: "newer")
        try f.pool.query("UPDATE collection_runs SET created_at = now() - interval '1 minute' WHERE id = $1", [older.id])

        let (run, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e1", leaseSeconds: 30))
        XCTAssertEqual(run.id, older.id)
        XCTAssertEqual(run.status, .running)
        XCTAssertEqual(run.leaseOwner, "e1")
        XCTAssertEqual([lease.runID.uuidString, lease.owner, String(lease.token)], [older.id.uuidString, "e1", "1"])
        XCTAssertNotNil(run.startedAt)
        XCTAssertEqual(try f.count("SELECT (lease_expires_at > now() + interval '20 seconds')::int AS n FROM collection_runs WHERE id = $1", [older.id]), 1)

        let (second, _) = try XCTUnwrap(f.runs.runClaimNext(owner: "e2", leaseSeconds: 30))
        XCTAssertEqual(second.id, newer.id)
        XCTAssertNil(try f.runs.runClaimNext(owner: "e3", leaseSeconds: 30), "both runs are held")
    }

    func testClaimRespectsEachOrgsConcurrencyLimitAndMarksTheWaiting() throws {
        let f = try StoreFixture()
        try f.pool.query("INSERT INTO collection_settings (org_id, max_concurrent_runs) VALUES ($1, 1)", [f.orgA.id])
        let a1 = try f.newRun(), a2 = try f.newRun()
        let b1 = try f.newRun(org: f.orgB.id, user: f.userB.id)
        try f.pool.query("UPDATE collection_runs SET created_at = now() - make_interval(secs => $2) WHERE id = $1", [a1.id, 30])
        try f.pool.query("UPDATE collection_runs SET created_at = now() - make_interval(secs => $2) WHERE id = $1", [a2.id, 20])
        try f.pool.query("UPDATE collection_runs SET created_at = now() - make_interval(secs => $2) WHERE id = $1", [b1.id, 10])

        let first = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        XCTAssertEqual(first.0.id, a1.id)
        let second = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        XCTAssertEqual(second.0.id, b1.id, "org A is at its limit of one, so org B's newer run goes first")
        XCTAssertNil(try f.runs.runClaimNext(owner: "e", leaseSeconds: 30))

        try f.runs.runMarkWaiting()
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: a2.id)?.statusReason, .waitingForSlot)
        XCTAssertNil(try f.runs.runGet(orgID: f.orgA.id, runID: a1.id)?.statusReason, "only pending runs are marked")

        // A run paused for its provider still holds its slot; one paused by an admin does not.
        try f.pool.query("UPDATE collection_runs SET status = 'paused', status_reason = 'provider_unavailable' WHERE id = $1", [a1.id])
        try f.runs.runMarkWaiting()
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: a2.id)?.statusReason, .waitingForSlot)
        try f.pool.query("UPDATE collection_runs SET status_reason = 'admin' WHERE id = $1", [a1.id])
        try f.runs.runMarkWaiting()
        XCTAssertNil(try f.runs.runGet(orgID: f.orgA.id, runID: a2.id)?.statusReason, "the slot is free again: the mark is cleared")
        let third = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        XCTAssertEqual(third.0.id, a2.id)
        XCTAssertNil(third.0.statusReason)
    }

    /// One "live run" predicate: heartbeats, slot counting and expired-lease takeover agree,
    /// state by state, that a run is live when running or paused for its provider only.
    func testHeartbeatSlotsAndTakeoverAgreeOnWhichRunsAreLive() throws {
        let states: [(RunStatus, RunReason?, live: Bool)] = [
            (.running, nil, true), (.paused, .providerUnavailable, true), (.paused, .admin, false),
            (.completed, nil, false), (.failed, nil, false), (.cancelled, nil, false),
        ]
        for (status, reason, live) in states {
            let context = "\(status.rawValue)/\(reason?.rawValue ?? "-")"
            let f = try StoreFixture()
            try f.pool.query("INSERT INTO collection_settings (org_id, max_concurrent_runs) VALUES ($1, 1)", [f.orgA.id])
            let held = try f.newRun()
            let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
            try f.pool.query("UPDATE collection_runs SET status = $2, status_reason = $3 WHERE id = $1", [held.id, status.rawValue, reason?.rawValue])
            XCTAssertEqual(try f.runs.runHeartbeat(lease, leaseSeconds: 30), live, "heartbeat: \(context)")

            let waiting = try f.newRun()
            try f.runs.runMarkWaiting()
            XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: waiting.id)?.statusReason == .waitingForSlot, live, "slot: \(context)")

            try f.expireLease(held.id)
            let claimed = try XCTUnwrap(f.runs.runClaimNext(owner: "other", leaseSeconds: 30), context)
            XCTAssertEqual(claimed.0.id, live ? held.id : waiting.id, "takeover: \(context)")
        }
    }

    func testExpiredLeaseIsTakenOverAndTheOldOwnerIsFenced() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, old) = try XCTUnwrap(f.runs.runClaimNext(owner: "old", leaseSeconds: 30))
        XCTAssertTrue(try f.runs.runHeartbeat(old, leaseSeconds: 30))
        XCTAssertNil(try f.runs.runClaimNext(owner: "new", leaseSeconds: 30), "a live lease is not taken")

        try f.expireLease(run.id)
        let (taken, new) = try XCTUnwrap(f.runs.runClaimNext(owner: "new", leaseSeconds: 30))
        XCTAssertEqual(taken.id, run.id)
        XCTAssertEqual(taken.status, .running)
        XCTAssertEqual(new.token, old.token + 1)

        XCTAssertFalse(try f.runs.runHeartbeat(old, leaseSeconds: 30))
        XCTAssertNil(try f.runs.runGetFenced(old))
        XCTAssertFalse(try f.runs.runEngineTransition(old, from: RunState(status: .running), command: .complete(nil)))
        try f.runs.runRelease(old)
        XCTAssertEqual(try f.count("SELECT (lease_expires_at > now())::int AS n FROM collection_runs WHERE id = $1", [run.id]), 1,
                       "a stale owner's release does not end the new owner's lease")
        XCTAssertEqual(try f.runs.runGetFenced(new)?.leaseOwner, "new")
        XCTAssertTrue(try f.runs.runHeartbeat(new, leaseSeconds: 30))

        try f.runs.runRelease(new)
        XCTAssertEqual(try f.count("SELECT (lease_expires_at <= now())::int AS n FROM collection_runs WHERE id = $1", [run.id]), 1)
        let (_, third) = try XCTUnwrap(f.runs.runClaimNext(owner: "third", leaseSeconds: 30), "a released run is claimable at once")
        XCTAssertEqual(third.token, new.token + 1)
    }

    func testAdminPauseAndCancelBreakTheHeartbeat() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        _ = try f.pool.withTransaction { try f.runs.runTransition(orgID: f.orgA.id, runID: run.id, command: .pause(.admin), on: $0) }
        XCTAssertFalse(try f.runs.runHeartbeat(lease, leaseSeconds: 30), "an admin-paused run is not the executor's any more")
        XCTAssertNotNil(try f.runs.runGetFenced(lease), "the fence itself still matches; only the state changed")
        XCTAssertFalse(try f.runs.runEngineTransition(lease, from: RunState(status: .running), command: .pause(.providerUnavailable)),
                       "the engine's expected state no longer holds")
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.state, RunState(status: .paused, reason: .admin))
        _ = try f.pool.withTransaction { try f.runs.runTransition(orgID: f.orgA.id, runID: run.id, command: .cancel, on: $0) }
        XCTAssertFalse(try f.runs.runHeartbeat(lease, leaseSeconds: 30))
    }

    func testEngineTransitionsOutageRetryAndCompletion() throws {
        let f = try StoreFixture()
        let run = try f.newRun()
        let (_, lease) = try XCTUnwrap(f.runs.runClaimNext(owner: "e", leaseSeconds: 30))
        let retryAt = Date(timeIntervalSince1970: 2_000_000_000.25)
        XCTAssertFalse(try f.runs.runSetNextRetry(lease, at: retryAt), "only a provider-paused run has a retry time")

        XCTAssertTrue(try f.runs.runEngineTransition(lease, from: RunState(status: .running), command: .pause(.providerUnavailable), nextRetryAt: retryAt))
        var now = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual(now.state, RunState(status: .paused, reason: .providerUnavailable))
        XCTAssertEqual(now.nextRetryAt, retryAt)
        XCTAssertNotNil(now.pausedAt)
        XCTAssertTrue(try f.runs.runHeartbeat(lease, leaseSeconds: 30), "an outage pause keeps the lease alive")
        let later = Date(timeIntervalSince1970: 2_000_000_010.5)
        XCTAssertTrue(try f.runs.runSetNextRetry(lease, at: later))
        XCTAssertEqual(try f.runs.runGet(orgID: f.orgA.id, runID: run.id)?.nextRetryAt, later)
        // The from-state is part of the guard: a stale view of the run changes nothing.
        XCTAssertFalse(try f.runs.runEngineTransition(lease, from: RunState(status: .running), command: .pause(.providerUnavailable)))

        XCTAssertTrue(try f.runs.runEngineTransition(lease, from: RunState(status: .paused, reason: .providerUnavailable), command: .resume(by: .engine)))
        try f.pool.query("UPDATE collection_runs SET processed_items = 7, failed_items = 2, skipped_items = 1, current_category = 'beauty' WHERE id = $1", [run.id])
        XCTAssertTrue(try f.runs.runEngineTransition(lease, from: RunState(status: .running), command: .complete(.budgetExhausted)))
        now = try XCTUnwrap(f.runs.runGet(orgID: f.orgA.id, runID: run.id))
        XCTAssertEqual(now.state, RunState(status: .completed, reason: .budgetExhausted))
        XCTAssertEqual(now.totalItems, 10, "a completed run's total is what it did")
        XCTAssertNil(now.currentCategory)
        XCTAssertNotNil(now.completedAt)
        XCTAssertNil(now.nextRetryAt)
        XCTAssertFalse(try f.runs.runHeartbeat(lease, leaseSeconds: 30))
        XCTAssertThrowsError(try f.runs.runEngineTransition(lease, from: now.state, command: .pause(.providerUnavailable)),
                             "the state machine refuses before any SQL")
    }
}
