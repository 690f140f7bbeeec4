import Foundation
import HubCore

/// A collection run as stored, encoded with the seed's snake_case column names.
public struct RunRecord: Sendable, Codable, Equatable {
    public var id: UUID
    public var orgID: UUID
    public var name: String
    public var status: RunStatus
    public var statusReason: RunReason?
    public var estimatedCostCents: Int
    public var actualCostCents: Int
    public var budgetCapCents: Int
    public var softWarningPercent: Int
    public var totalItems: Int
    /// Items the estimate planned at creation; never rewritten (plan against actual).
    public var plannedItems: Int
    /// The best-known total while running: exact products of listed categories, learned
    /// projections for the rest.
    public var expectedItems: Int
    /// Done over the best-known total, 0–100, one decimal; never goes backwards.
    public var progressPercent: Double
    /// The executor's recent rate; nil before its first commits.
    public var itemsPerSecond: Double?
    /// Seconds to go at that rate, while running.
    public var etaSeconds: Int?
    /// The estimate as made at creation (nil for runs made without one).
    public var estimate: CostEstimate?
    /// What the run observed per category (what later estimates learn from).
    public var categoryStats: [String: CategoryRunStats]
    public var processedItems: Int
    public var failedItems: Int
    public var skippedItems: Int
    public var currentCategory: String?
    public var categoryIDs: [String]
    /// Engine state (resume point); never encoded: clients have no use for it.
    public var checkpoint: RunCheckpoint? = nil
    public var itemSeq: Int64
    public var nextRetryAt: Date?
    public var budgetWarnedAt: Date?
    public var startedAt: Date?
    public var completedAt: Date?
    public var pausedAt: Date?
    public var createdBy: UUID
    public var createdAt: Date
    public var updatedAt: Date?
    /// The executor's lease (engine state, not encoded): who holds the run, and the fence.
    public var leaseOwner: String? = nil
    public var leaseToken: Int64 = 0

    enum CodingKeys: String, CodingKey {
        // checkpoint, lease_owner and lease_token are left out on purpose: internal engine
        // state, not part of the run object clients see (REST, CLI --json, events).
        case id, name, status
        case orgID = "org_id"
        case statusReason = "status_reason"
        case estimatedCostCents = "estimated_cost_cents"
        case actualCostCents = "actual_cost_cents"
        case budgetCapCents = "budget_cap_cents"
        case softWarningPercent = "soft_warning_percent"
        case totalItems = "total_items"
        case plannedItems = "planned_items"
        case expectedItems = "expected_items"
        case progressPercent = "progress_percent"
        case itemsPerSecond = "items_per_second"
        case etaSeconds = "eta_seconds"
        case estimate
        case categoryStats = "category_stats"
        case processedItems = "processed_items"
        case failedItems = "failed_items"
        case skippedItems = "skipped_items"
        case currentCategory = "current_category"
        case categoryIDs = "category_ids"
        case itemSeq = "item_seq"
        case nextRetryAt = "next_retry_at"
        case budgetWarnedAt = "budget_warned_at"
        case startedAt = "started_at"
        case completedAt = "completed_at"
        case pausedAt = "paused_at"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    public var state: RunState { RunState(status: status, reason: statusReason) }

    /// Columns every run query selects.
    static let columns = """
        id, org_id, name, status, status_reason, estimated_cost_cents, actual_cost_cents, budget_cap_cents,
        soft_warning_percent, total_items, processed_items, failed_items, skipped_items, current_category,
        category_ids, checkpoint, item_seq, next_retry_at, budget_warned_at, started_at, completed_at, paused_at,
        created_by, created_at, updated_at, lease_owner, lease_token, planned_items, expected_items, progress_permille,
        items_per_second, estimate, category_stats
        """

    init(row: PostgresRow) throws {
        id = try row.uuid("id")
        orgID = try row.uuid("org_id")
        name = try row.string("name")
        guard let s = RunStatus(rawValue: try row.string("status")) else {
            throw PostgresError(code: .decoding, message: "unknown run status")
        }
        status = s
        statusReason = try row.optionalString("status_reason").flatMap(RunReason.init(rawValue:))
        estimatedCostCents = try row.int("estimated_cost_cents")
        actualCostCents = try row.int("actual_cost_cents")
        budgetCapCents = try row.int("budget_cap_cents")
        softWarningPercent = try row.int("soft_warning_percent")
        totalItems = try row.int("total_items")
        plannedItems = try row.int("planned_items")
        expectedItems = try row.int("expected_items")
        progressPercent = Double(try row.int("progress_permille")) / 10
        itemsPerSecond = try row.optionalString("items_per_second").flatMap(Double.init).map { ($0 * 100).rounded() / 100 }
        estimate = try row.json("estimate", as: CostEstimate.self)
        categoryStats = try row.json("category_stats", as: [String: CategoryRunStats].self) ?? [:]
        processedItems = try row.int("processed_items")
        failedItems = try row.int("failed_items")
        skippedItems = try row.int("skipped_items")
        currentCategory = try row.optionalString("current_category")
        categoryIDs = try row.stringArray("category_ids")
        checkpoint = try row.json("checkpoint", as: RunCheckpoint.self)
        itemSeq = try row.int64("item_seq")
        nextRetryAt = try row.optionalDate("next_retry_at")
        budgetWarnedAt = try row.optionalDate("budget_warned_at")
        startedAt = try row.optionalDate("started_at")
        completedAt = try row.optionalDate("completed_at")
        pausedAt = try row.optionalDate("paused_at")
        createdBy = try row.uuid("created_by")
        createdAt = try row.date("created_at")
        updatedAt = try row.optionalDate("updated_at")
        leaseOwner = try row.optionalString("lease_owner")
        leaseToken = try row.int64("lease_token")
        etaSeconds = status == .running
            ? RunProgress.etaSeconds(done: processedItems + failedItems + skippedItems, expected: expectedItems, itemsPerSecond: itemsPerSecond)
            : nil
    }
}

/// An item as listed by the API (seed columns plus seq).
public struct ItemRecord: Sendable, Encodable {
    public let id: UUID
    public let runID: UUID
    public let seq: Int64
    public let itemType: String
    public let externalID: String
    public let status: String
    /// The item's jsonb as PostgreSQL printed it, written into answers without re-encoding.
    public let data: RawJSON?
    public let errorCode: String?
    public let errorMessage: String?
    public let costCents: Int
    public let categoryID: String?
    public let sellerID: UUID?
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, seq, status, data
        case runID = "run_id"
        case itemType = "item_type"
        case externalID = "external_id"
        case errorCode = "error_code"
        case errorMessage = "error_message"
        case costCents = "cost_cents"
        case categoryID = "category_id"
        case sellerID = "seller_id"
        case createdAt = "created_at"
    }
}

/// A deduplicated seller as listed by the API.
public struct SellerRecord: Sendable, Encodable {
    public let id: UUID
    public let displayName: String
    public let normalizedName: String
    public let platform: String
    public let platformID: String?
    public let timesSeen: Int
    public let firstSeenRunID: UUID?
    public let lastSeenRunID: UUID?
    public let feedbackScore: Int?
    public let createdAt: Date
    public let updatedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, platform
        case displayName = "display_name"
        case normalizedName = "normalized_name"
        case platformID = "platform_id"
        case timesSeen = "times_seen"
        case firstSeenRunID = "first_seen_run_id"
        case lastSeenRunID = "last_seen_run_id"
        case feedbackScore = "feedback_score"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }
}
