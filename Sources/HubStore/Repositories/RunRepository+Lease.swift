import Foundation
import HubCore

/// The scheduler's side of runs: claiming with SKIP LOCKED, leases, fenced writes.
extension RunRepository {
    /// The one "live run" predicate, for `collection_runs` aliased `r`: a run that holds one
    /// of its org's slots and an executor lease, i.e. running, or paused only because its
    /// provider is unavailable (it resumes by itself). Slot counting, lease expiry and
    /// heartbeats must agree on it, so it is written once.
    static let liveRun = "(r.status = 'running' OR (r.status = 'paused' AND r.status_reason = 'provider_unavailable'))"

    /// CTE `live(org_id, n, mine)`: live runs per org, and how many of them `$1` holds.
    private static let liveRunsPerOrg = """
        live AS (
            SELECT r.org_id, count(*) AS n, count(*) FILTER (WHERE r.lease_owner = $1 AND r.lease_expires_at > now()) AS mine
            FROM collection_runs r
            WHERE \(liveRun)
            GROUP BY r.org_id
        )
        """

    /// Who holds a run: the fence every executor write is checked against.
    public struct Lease: Sendable, Equatable {
        public let runID: UUID
        public let owner: String
        public let token: Int64
    }

    /// Claims one run this process may execute: a run whose lease expired (its owner
    /// died) first, else a pending run of an org with a free slot, picking the org with the
    /// fewest live runs (oldest run first within it) so one org's backlog cannot starve
    /// another's. `maxPerOrg` caps how many of one org's runs this process executes at once,
    /// leaving executors for other orgs. Returns nil when there is none.
    public func runClaimNext(owner: String, leaseSeconds: Double, maxPerOrg: Int = Int(Int32.max)) throws -> (RunRecord, Lease)? {
        try pool.withTransaction { c in
            // Claims are rare; one at a time across all processes keeps the slot count exact.
            try c.query("SELECT pg_advisory_xact_lock($1)", [Int64(0x436f_6c6c_4375_6c6d)])
            guard let row = try c.query("""
                WITH \(Self.liveRunsPerOrg), candidate AS (
                    SELECT r.id FROM collection_runs r
                    LEFT JOIN collection_settings s ON s.org_id = r.org_id
                    LEFT JOIN live l ON l.org_id = r.org_id
                    WHERE COALESCE(l.mine, 0) < $3
                      AND ((r.status = 'pending' AND COALESCE(l.n, 0) < COALESCE(s.max_concurrent_runs, 3))
                       OR (\(Self.liveRun) AND (r.lease_expires_at IS NULL OR r.lease_expires_at < now())))
                    ORDER BY r.status = 'pending', COALESCE(l.n, 0), r.created_at
                    LIMIT 1
                    FOR UPDATE OF r SKIP LOCKED
                )
                UPDATE collection_runs r SET
                    status = CASE WHEN r.status = 'pending' THEN 'running' ELSE r.status END,
                    status_reason = CASE WHEN r.status = 'pending' THEN NULL ELSE r.status_reason END,
                    started_at = COALESCE(r.started_at, now()),
                    lease_owner = $1, lease_token = r.lease_token + 1,
                    lease_expires_at = now() + make_interval(secs => $2), heartbeat_at = now(), updated_at = now()
                FROM candidate WHERE r.id = candidate.id
                RETURNING \(RunRecord.columns.split(separator: ",").map { "r." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", "))
                """, [owner, leaseSeconds, Int64(maxPerOrg)]).first else { return nil }
            let run = try RunRecord(row: row)
            return (run, Lease(runID: run.id, owner: owner, token: run.leaseToken))
        }
    }

    /// Says why each pending run has not started: `waiting_for_slot` when its org already
    /// has `max_concurrent_runs` live runs; `waiting_for_executor` when `executorsFull` (the
    /// caller's executors are all busy) or `owner` already runs `maxPerOrg` of the org's
    /// runs; else no reason (it is about to be claimed). Called after a claim pass.
    public func runMarkWaiting(owner: String = "", maxPerOrg: Int = Int(Int32.max), executorsFull: Bool = false) throws {
        try pool.query("""
            WITH \(Self.liveRunsPerOrg), waiting AS (
                SELECT r2.id, CASE
                        WHEN COALESCE(l.n, 0) >= COALESCE(s.max_concurrent_runs, 3) THEN 'waiting_for_slot'
                        WHEN $3 OR COALESCE(l.mine, 0) >= $2 THEN 'waiting_for_executor'
                        ELSE NULL END AS reason
                FROM collection_runs r2
                LEFT JOIN collection_settings s ON s.org_id = r2.org_id
                LEFT JOIN live l ON l.org_id = r2.org_id
                WHERE r2.status = 'pending'
            )
            UPDATE collection_runs r SET status_reason = w.reason, updated_at = now()
            FROM waiting w
            WHERE r.id = w.id AND r.status = 'pending' AND r.status_reason IS DISTINCT FROM w.reason
            """, [owner, Int64(maxPerOrg), executorsFull])
    }

    /// Extends the lease; false when the fence no longer matches (paused, cancelled, taken).
    public func runHeartbeat(_ lease: Lease, leaseSeconds: Double) throws -> Bool {
        try pool.query("""
            UPDATE collection_runs r SET lease_expires_at = now() + make_interval(secs => $4), heartbeat_at = now()
            WHERE r.id = $1 AND r.lease_owner = $2 AND r.lease_token = $3 AND \(Self.liveRun)
            """, [lease.runID, lease.owner, lease.token, leaseSeconds]).affectedRows == 1
    }

    /// Gives the run up so another process can take it at once (graceful shutdown).
    public func runRelease(_ lease: Lease) throws {
        try pool.query("UPDATE collection_runs SET lease_expires_at = now() WHERE id = $1 AND lease_owner = $2 AND lease_token = $3",
                       [lease.runID, lease.owner, lease.token])
    }

    /// The run as the lease holder sees it (nil once the fence no longer matches).
    public func runGetFenced(_ lease: Lease) throws -> RunRecord? {
        try pool.query("SELECT \(RunRecord.columns) FROM collection_runs WHERE id = $1 AND lease_owner = $2 AND lease_token = $3",
                       [lease.runID, lease.owner, lease.token]).first.map(RunRecord.init)
    }

    /// Engine-side state change under the fence: provider pause, automatic resume, end.
    /// False when the fence or the expected state no longer matches (an admin acted, or
    /// another process took the run).
    public func runEngineTransition(_ lease: Lease, from: RunState, command: RunCommand, nextRetryAt: Date? = nil) throws -> Bool {
        let to = try RunLifecycle.apply(command, to: from).to
        return try pool.query("""
            UPDATE collection_runs SET status = $4, status_reason = $5, next_retry_at = $6,
                paused_at = CASE WHEN $4 = 'paused' THEN COALESCE(paused_at, now()) END,  -- only a paused run has one
                completed_at = CASE WHEN $4 IN ('completed', 'failed', 'cancelled') THEN now() ELSE completed_at END,
                current_category = CASE WHEN $4 IN ('completed', 'failed', 'cancelled') THEN NULL ELSE current_category END,
                total_items = CASE WHEN $4 = 'completed' THEN processed_items + failed_items + skipped_items ELSE total_items END,
                lease_expires_at = CASE WHEN $4 IN ('completed', 'failed', 'cancelled') THEN now() ELSE lease_expires_at END,
                updated_at = now()
            WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND status = $7 AND status_reason IS NOT DISTINCT FROM $8
            """, [lease.runID, lease.owner, lease.token, to.status.rawValue, to.reason?.rawValue, nextRetryAt,
                  from.status.rawValue, from.reason?.rawValue]).affectedRows == 1
    }
}

extension RunRepository {
    /// Moves the next retry time of a run paused for its provider (the dashboard counts down).
    public func runSetNextRetry(_ lease: Lease, at date: Date) throws -> Bool {
        try pool.query("""
            UPDATE collection_runs SET next_retry_at = $4, updated_at = now(),
                lease_expires_at = GREATEST(lease_expires_at, now()), heartbeat_at = now()
            WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND status = 'paused' AND status_reason = 'provider_unavailable'
            """, [lease.runID, lease.owner, lease.token, date]).affectedRows == 1
    }
}
