import Foundation
import HubCore

/// What estimates learn from: the per-category observations of an org's own completed runs.
public struct EstimateHistoryRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// The `recentRuns` newest completed runs of `orgID` that covered any of `categoryIDs`:
    /// their observations for those categories, and how many distinct sellers they paid for.
    public func history(orgID: UUID, categoryIDs: [String], recentRuns: Int = 20) throws -> EstimateHistory {
        guard !categoryIDs.isEmpty else { return .none }
        // Runs that stopped at the budget are completed too; their unfinished categories
        // say complete = false and are left out when learning.
        let recent = """
            SELECT id, category_stats FROM collection_runs
            WHERE org_id = $1 AND status = 'completed' AND category_stats ?| $2::text[]
            ORDER BY completed_at DESC NULLS LAST, id LIMIT $3
            """
        return try pool.withConnection { c in
            let samples = try c.query("""
                WITH recent AS (\(recent))
                SELECT s.key AS category_id, s.value::text AS stats
                FROM recent, jsonb_each(recent.category_stats) AS s WHERE s.key = ANY($2::text[])
                """, [orgID, categoryIDs, recentRuns]).rows.compactMap { row -> (categoryID: String, stats: CategoryRunStats)? in
                guard let stats = try row.json("stats", as: CategoryRunStats.self) else { return nil }
                return (try row.string("category_id"), stats)
            }
            // Seller items are unique per run and external id, so this reads the index only.
            let sellers = try c.query("""
                WITH recent AS (\(recent))
                SELECT count(DISTINCT i.external_id) AS n FROM collection_items i JOIN recent ON recent.id = i.run_id
                WHERE i.item_type = 'ebay_seller'
                """, [orgID, categoryIDs, recentRuns]).first.map { try $0.int("n") } ?? 0
            return EstimateHistory(samples: samples, orgSellers: sellers)
        }
    }
}
