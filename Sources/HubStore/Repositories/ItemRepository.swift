import Foundation
import HubCore

/// An item the executor produced, with the seller it found (for ebay_seller items).
public struct NewItem: Sendable {
    public var itemType: ItemType
    public var externalID: String
    public var status: ItemStatus
    public var dataJSON: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var costCents: Int
    public var categoryID: String
    public var seller: NewSeller?

    public init(itemType: ItemType, externalID: String, status: ItemStatus, dataJSON: String? = nil, errorCode: String? = nil,
                errorMessage: String? = nil, costCents: Int, categoryID: String, seller: NewSeller? = nil) {
        self.itemType = itemType
        self.externalID = externalID
        self.status = status
        self.dataJSON = dataJSON
        self.errorCode = errorCode
        self.errorMessage = errorMessage
        self.costCents = costCents
        self.categoryID = categoryID
        self.seller = seller
    }
}

/// A seller to upsert into the deduplicated list.
public struct NewSeller: Sendable {
    public var displayName: String
    public var platformID: String
    public var feedbackScore: Int?
    public init(displayName: String, platformID: String, feedbackScore: Int? = nil) {
        self.displayName = displayName
        self.platformID = platformID
        self.feedbackScore = feedbackScore
    }
}

/// One commit of the executor: items, the counters they move and the checkpoint after them.
public struct ItemBatch: Sendable {
    public var items: [NewItem] = []
    public var checkpoint: RunCheckpoint
    public var currentCategory: String?
    public var budgetWarned = false
    /// Per-category observations after these items (committed with them).
    public var categoryStats: [String: CategoryRunStats]?
    /// The best-known total, progress and rate after these items.
    public var progress: BatchProgress?
    public init(checkpoint: RunCheckpoint, currentCategory: String?) {
        self.checkpoint = checkpoint
        self.currentCategory = currentCategory
    }
}

/// Where a run stands after a batch, as the executor computed it.
public struct BatchProgress: Sendable, Equatable {
    public var expectedItems: Int
    public var permille: Int
    public var itemsPerSecond: Double?
    public init(expectedItems: Int, permille: Int, itemsPerSecond: Double?) {
        self.expectedItems = expectedItems
        self.permille = permille
        self.itemsPerSecond = itemsPerSecond
    }
}

/// Items: the executor's fenced batch commit and the API's paged reads.
public struct ItemRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Commits a batch under the lease: counters, checkpoint, sellers and items in one
    /// transaction. False (nothing written) when the fence no longer matches.
    public func itemsCommitBatch(_ batch: ItemBatch, lease: RunRepository.Lease, orgID: UUID, leaseSeconds: Double) throws -> Bool {
        do {
            return try pool.withTransaction { c in
                let processed = batch.items.filter { $0.status == .completed }.count
                let failed = batch.items.filter { $0.status == .failed }.count
                let skipped = batch.items.filter { $0.status == .skipped }.count
                let cost = batch.items.reduce(0) { $0 + $1.costCents }
                guard let row = try c.query("""
                    UPDATE collection_runs SET processed_items = processed_items + $4, failed_items = failed_items + $5,
                        skipped_items = skipped_items + $6, actual_cost_cents = actual_cost_cents + $7,
                        item_seq = item_seq + $8, current_category = $10,
                        checkpoint = jsonb_set($9::jsonb, '{last_seq}', to_jsonb(item_seq + $8)),
                        total_items = GREATEST(total_items, processed_items + failed_items + skipped_items + $4 + $5 + $6),
                        budget_warned_at = CASE WHEN $11 AND budget_warned_at IS NULL THEN now() ELSE budget_warned_at END,
                        expected_items = GREATEST(COALESCE($13, expected_items), processed_items + failed_items + skipped_items + $4 + $5 + $6),
                        progress_permille = GREATEST(progress_permille, LEAST(1000, COALESCE($14, 0))),
                        items_per_second = COALESCE($15, items_per_second),
                        category_stats = COALESCE($16::jsonb, category_stats),
                        lease_expires_at = now() + make_interval(secs => $12), heartbeat_at = now(), updated_at = now()
                    WHERE id = $1 AND lease_owner = $2 AND lease_token = $3 AND status = 'running'
                    RETURNING item_seq
                    """, [lease.runID, lease.owner, lease.token, processed, failed, skipped, cost, batch.items.count,
                          try PostgresJSON(encoding: batch.checkpoint), batch.currentCategory, batch.budgetWarned, leaseSeconds,
                          batch.progress?.expectedItems, batch.progress?.permille, batch.progress?.itemsPerSecond,
                          try batch.categoryStats.map { try PostgresJSON(encoding: $0) }]).first
                else { throw LeaseLost() }
                guard !batch.items.isEmpty else { return true }
                let lastSeq = try row.int64("item_seq")
                let firstSeq = lastSeq - Int64(batch.items.count) + 1
                var sellerIDs: [String?] = []
                for item in batch.items {
                    guard let seller = item.seller else { sellerIDs.append(nil); continue }
                    sellerIDs.append(try sellerUpsert(c, orgID: orgID, runID: lease.runID, seller).uuidString)
                }
                try c.query("""
                    INSERT INTO collection_items (run_id, org_id, seq, item_type, external_id, status, data, error_code,
                        error_message, cost_cents, category_id, seller_id, updated_at)
                    SELECT $1, $2, t.seq, t.item_type, t.external_id, t.status, t.data::jsonb, t.error_code, t.error_message,
                        t.cost, t.category_id, t.seller_id, now()
                    FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                $10::int[], $11::text[], $12::uuid[])
                        AS t(seq, item_type, external_id, status, data, error_code, error_message, cost, category_id, seller_id)
                    """, [lease.runID, orgID,
                          PostgresArray((0..<batch.items.count).map { String(firstSeq + Int64($0)) }),
                          PostgresArray(batch.items.map { $0.itemType.rawValue }),
                          PostgresArray(batch.items.map { $0.externalID }),
                          PostgresArray(batch.items.map { $0.status.rawValue }),
                          PostgresArray(batch.items.map { $0.dataJSON }),
                          PostgresArray(batch.items.map { $0.errorCode }),
                          PostgresArray(batch.items.map { $0.errorMessage }),
                          PostgresArray(batch.items.map { String($0.costCents) }),
                          PostgresArray(batch.items.map { $0.categoryID }),
                          PostgresArray(sellerIDs)])
                return true
            }
        } catch is LeaseLost {
            return false
        }
    }

    /// The fenced UPDATE matched no row: roll the whole batch back.
    private struct LeaseLost: Error {}

    /// Upserts a seller by normalized name per org and platform; returns its id.
    func sellerUpsert(_ c: PostgresConnection, orgID: UUID, runID: UUID, _ s: NewSeller) throws -> UUID {
        try c.query("""
            INSERT INTO sellers (org_id, display_name, normalized_name, platform, platform_id, first_seen_run_id,
                last_seen_run_id, feedback_score)
            VALUES ($1, $2, $3, 'ebay', $4, $5, $5, $6)
            ON CONFLICT (org_id, normalized_name, platform) DO UPDATE SET times_seen = sellers.times_seen + 1,
                last_seen_run_id = EXCLUDED.last_seen_run_id, feedback_score = COALESCE(EXCLUDED.feedback_score, sellers.feedback_score),
                updated_at = now()
            RETURNING id
            """, [orgID, s.displayName, SellerName.normalize(s.displayName), s.platformID, runID, s.feedbackScore]).first!.uuid("id")
    }

    /// External ids of the sellers already recorded in a run (resume dedup).
    public func itemsSellerIDs(runID: UUID) throws -> Set<String> {
        Set(try pool.query("SELECT external_id FROM collection_items WHERE run_id = $1 AND item_type = 'ebay_seller'", [runID])
            .rows.map { try $0.string("external_id") })
    }

    /// A run's items (run already checked to belong to the org), filtered, paged by seq:
    /// `after` ascending, `before` (or neither) newest first.
    public func itemsList(runID: UUID, status: ItemStatus?, itemType: ItemType?, after: Int64?, before: Int64?, limit: Int) throws -> [ItemRecord] {
        let ascending = after != nil
        return try pool.query("""
            SELECT id, run_id, seq, item_type, external_id, status, data::text AS data, error_code, error_message,
                   cost_cents, category_id, seller_id, created_at
            FROM collection_items
            WHERE run_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR item_type = $3)
              AND ($4::bigint IS NULL OR seq > $4) AND ($5::bigint IS NULL OR seq < $5)
            ORDER BY seq \(ascending ? "ASC" : "DESC") LIMIT $6
            """, [runID, status?.rawValue, itemType?.rawValue, after, before, limit]).rows.map { row in
            ItemRecord(id: try row.uuid("id"), runID: try row.uuid("run_id"), seq: try row.int64("seq"),
                       itemType: try row.string("item_type"), externalID: try row.string("external_id"),
                       status: try row.string("status"), data: try row.optionalString("data").map { RawJSON(Array($0.utf8)) },
                       errorCode: try row.optionalString("error_code"), errorMessage: try row.optionalString("error_message"),
                       costCents: try row.int("cost_cents"), categoryID: try row.optionalString("category_id"),
                       sellerID: try row.optionalUUID("seller_id"), createdAt: try row.date("created_at"))
        }
    }

    /// An org's sellers, most seen first, optionally by name, paged by offset.
    public func sellersList(orgID: UUID, search: String?, limit: Int, offset: Int) throws -> [SellerRecord] {
        let pattern = search.map { "%" + SellerName.normalize($0).replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
        return try pool.query("""
            SELECT id, display_name, normalized_name, platform, platform_id, times_seen, first_seen_run_id, last_seen_run_id,
                   feedback_score, created_at, updated_at
            FROM sellers WHERE org_id = $1 AND ($2::text IS NULL OR normalized_name LIKE $2)
            ORDER BY times_seen DESC, normalized_name LIMIT $3 OFFSET $4
            """, [orgID, pattern, limit, offset]).rows.map { row in
            SellerRecord(id: try row.uuid("id"), displayName: try row.string("display_name"),
                         normalizedName: try row.string("normalized_name"), platform: try row.string("platform"),
                         platformID: try row.optionalString("platform_id"), timesSeen: try row.int("times_seen"),
                         firstSeenRunID: try row.optionalUUID("first_seen_run_id"), lastSeenRunID: try row.optionalUUID("last_seen_run_id"),
                         feedbackScore: try row.optionalInt("feedback_score"), createdAt: try row.date("created_at"),
                         updatedAt: try row.optionalDate("updated_at"))
        }
    }
}
