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
    /// statement (one round trip, atomic without BEGIN/COMMIT). False (nothing written) when
    /// the fence no longer matches: the run update matches no row, and the seller and item
    /// inserts read from it, so they write nothing either.
    public func itemsCommitBatch(_ batch: ItemBatch, lease: RunRepository.Lease, orgID: UUID, leaseSeconds: Double) throws -> Bool {
        let processed = batch.items.filter { $0.status == .completed }.count
        let failed = batch.items.filter { $0.status == .failed }.count
        let skipped = batch.items.filter { $0.status == .skipped }.count
        let cost = batch.items.reduce(0) { $0 + $1.costCents }
        let sellers = batch.items.compactMap(\.seller)
        // Sellers are keyed by normalized name: items find their row by it.
        let sellerKeys = batch.items.map { $0.seller.map { SellerName.normalize($0.displayName) } }
        return try pool.query(Self.commitStatement, [
            lease.runID, lease.owner, lease.token, processed, failed, skipped, cost, batch.items.count,
            try PostgresJSON(encoding: batch.checkpoint), batch.currentCategory, batch.budgetWarned, leaseSeconds,
            batch.progress?.expectedItems, batch.progress?.permille, batch.progress?.itemsPerSecond,
            try batch.categoryStats.map { try PostgresJSON(encoding: $0) }, orgID,
            PostgresArray(batch.items.map { $0.itemType.rawValue }),
            PostgresArray(batch.items.map { $0.externalID }),
            PostgresArray(batch.items.map { $0.status.rawValue }),
            PostgresArray(batch.items.map { $0.dataJSON }),
            PostgresArray(batch.items.map { $0.errorCode }),
            PostgresArray(batch.items.map { $0.errorMessage }),
            PostgresArray(batch.items.map { String($0.costCents) }),
            PostgresArray(batch.items.map { $0.categoryID }),
            PostgresArray(sellerKeys),
            PostgresArray(sellers.map { $0.displayName }),
            PostgresArray(sellers.map { SellerName.normalize($0.displayName) }),
            PostgresArray(sellers.map { $0.platformID }),
            PostgresArray(sellers.map { $0.feedbackScore.map(String.init) }),
        ]).first != nil
    }

    /// The batch commit. Sellers repeated within a batch (variants of one name) are grouped:
    /// one upsert per name adds the number of sightings, keeps the first sighting's name and
    /// id and the last known feedback score, as one upsert per sighting would. Items take
    /// seq from the block the run update reserved, in batch order.
    static let commitStatement = """
        WITH run AS (
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
        ), sighting AS (
            SELECT * FROM unnest($27::text[], $28::text[], $29::text[], $30::int[]) WITH ORDINALITY
                AS g(display_name, normalized_name, platform_id, feedback_score, ord)
        ), seller AS (
            INSERT INTO sellers (org_id, display_name, normalized_name, platform, platform_id, first_seen_run_id,
                last_seen_run_id, feedback_score, times_seen, updated_at)
            SELECT $17, (array_agg(display_name ORDER BY ord))[1], normalized_name, 'ebay', (array_agg(platform_id ORDER BY ord))[1],
                $1, $1, (array_agg(feedback_score ORDER BY ord DESC) FILTER (WHERE feedback_score IS NOT NULL))[1], count(*),
                CASE WHEN count(*) > 1 THEN now() END
            FROM sighting WHERE EXISTS (SELECT 1 FROM run) GROUP BY normalized_name
            ON CONFLICT (org_id, normalized_name, platform) DO UPDATE SET times_seen = sellers.times_seen + EXCLUDED.times_seen,
                last_seen_run_id = EXCLUDED.last_seen_run_id, feedback_score = COALESCE(EXCLUDED.feedback_score, sellers.feedback_score),
                updated_at = now()
            RETURNING id, normalized_name
        ), item AS (
            INSERT INTO collection_items (run_id, org_id, seq, item_type, external_id, status, data, error_code,
                error_message, cost_cents, category_id, seller_id, updated_at)
            SELECT $1, $17, run.item_seq - $8 + t.ord, t.item_type, t.external_id, t.status, t.data::jsonb, t.error_code,
                t.error_message, t.cost, t.category_id, seller.id, now()
            FROM run CROSS JOIN unnest($18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[],
                                       $24::int[], $25::text[], $26::text[]) WITH ORDINALITY
                AS t(item_type, external_id, status, data, error_code, error_message, cost, category_id, seller_key, ord)
            LEFT JOIN seller ON seller.normalized_name = t.seller_key
        )
        SELECT item_seq FROM run
        """

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
