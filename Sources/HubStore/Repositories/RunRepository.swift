import Foundation
import HubCore

/// Runs: creation, reads, guarded state transitions, and the scheduler's leases.
public struct RunRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// What a new run starts with.
    public struct NewRun: Sendable {
        public var orgID: UUID
        public var userID: UUID
        public var name: String
        public var categoryIDs: [String]
        public var estimate: CostEstimate
        public var settings: BudgetSettings
        public init(orgID: UUID, userID: UUID, name: String, categoryIDs: [String], estimate: CostEstimate, settings: BudgetSettings) {
            self.orgID = orgID
            self.userID = userID
            self.name = name
            self.categoryIDs = categoryIDs
            self.estimate = estimate
            self.settings = settings
        }
    }

    public func runCreate(_ new: NewRun, on c: PostgresConnection) throws -> RunRecord {
        try RunRecord(row: c.query("""
            INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, soft_warning_percent,
                total_items, category_ids, estimate, created_by, checkpoint, planned_items, expected_items)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, $6, $6)
            RETURNING \(RunRecord.columns)
            """, [new.orgID, new.name, new.estimate.totalCents, new.settings.budgetCapCents, new.settings.softWarningPercent,
                  new.estimate.expectedItems, new.categoryIDs, try PostgresJSON(encoding: new.estimate), new.userID,
                  try PostgresJSON(encoding: RunCheckpoint())]).first!)
    }

    /// A run of `orgID`; nil for unknown ids and other orgs' runs alike.
    public func runGet(orgID: UUID, runID: UUID, on c: PostgresConnection? = nil) throws -> RunRecord? {
        let sql = "SELECT \(RunRecord.columns) FROM collection_runs WHERE id = $1 AND org_id = $2"
        return try (c.map { try $0.query(sql, [runID, orgID]) } ?? pool.query(sql, [runID, orgID])).first.map(RunRecord.init)
    }

    /// Newest first, optionally by status, paged by (created_at, id) cursor.
    public func runList(orgID: UUID, status: RunStatus?, limit: Int, before cursor: (Date, UUID)?) throws -> [RunRecord] {
        try pool.query("""
            SELECT \(RunRecord.columns) FROM collection_runs
            WHERE org_id = $1 AND ($2::text IS NULL OR status = $2)
              AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
            ORDER BY created_at DESC, id DESC LIMIT $5
            """, [orgID, status?.rawValue, cursor?.0, cursor?.1, limit]).rows.map(RunRecord.init)
    }

    /// Applies an admin or engine command with the state machine, guarded in SQL so two
    /// writers cannot both succeed. Returns the updated run.
    public func runTransition(orgID: UUID, runID: UUID, command: RunCommand, on c: PostgresConnection) throws -> RunRecord {
        // Locking the row waits out a writer already moving it (the scheduler starting a
        // pending run, the executor pausing one) and then decides against what it committed,
        // so an admin's command never loses a race it should win.
        let locked = "SELECT \(RunRecord.columns) FROM collection_runs WHERE id = $1 AND org_id = $2 FOR UPDATE"
        guard let current = try c.query(locked, [runID, orgID]).first.map(RunRecord.init) else { throw StoreError.notFound("no such run") }
        let transition = try RunLifecycle.apply(command, to: current.state)
        let to = transition.to
        // Resumed and cancelled runs drop their lease: any scheduler may pick a resumed run
        // up at once, and an executor of a cancelled one finds its fence gone.
        let row = try c.query("""
            UPDATE collection_runs SET status = $3, status_reason = $4,
                paused_at = CASE WHEN $3 = 'paused' THEN now() END,  -- only a paused run has one
                completed_at = CASE WHEN $3 IN ('completed', 'failed', 'cancelled') THEN now() ELSE completed_at END,
                next_retry_at = NULL,
                lease_expires_at = CASE WHEN $3 IN ('running', 'cancelled') THEN now() ELSE lease_expires_at END,
                updated_at = now()
            WHERE id = $1 AND org_id = $2 AND status = $5 AND status_reason IS NOT DISTINCT FROM $6
            RETURNING \(RunRecord.columns)
            """, [runID, orgID, to.status.rawValue, to.reason?.rawValue, current.status.rawValue, current.statusReason?.rawValue]).first
        guard let row else {
            // Someone else moved it between our read and our write: report against the new state.
            guard let now = try runGet(orgID: orgID, runID: runID, on: c) else { throw StoreError.notFound("no such run") }
            _ = try RunLifecycle.apply(command, to: now.state)
            throw StoreError.conflict("the run changed while it was being updated; try again")
        }
        return try RunRecord(row: row)
    }

    /// Counts of an org's live runs by status.
    public func runCounts(orgID: UUID) throws -> (running: Int, pending: Int, paused: Int) {
        let row = try pool.query("""
            SELECT count(*) FILTER (WHERE status = 'running') AS running, count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'paused') AS paused
            FROM collection_runs WHERE org_id = $1 AND status IN ('pending', 'running', 'paused')
            """, [orgID]).first!
        return (try row.int("running"), try row.int("pending"), try row.int("paused"))
    }
}
