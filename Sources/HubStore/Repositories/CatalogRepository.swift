import Foundation
import HubCore

/// Categories and per-org settings.
public struct CatalogRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Every category, in catalog order.
    public func categoryList() throws -> [Category] {
        try pool.query("SELECT id, name, expected_products, expected_sellers_per_product FROM categories ORDER BY sort_order, id")
            .rows.map(Self.decodeCategory)
    }

    /// The categories with these ids, in the order given; unknown ids are left out.
    public func categoryFind(_ ids: [String]) throws -> [Category] {
        let found = try pool.query("""
            SELECT id, name, expected_products, expected_sellers_per_product FROM categories WHERE id = ANY($1::text[])
            """, [ids]).rows.map(Self.decodeCategory)
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        return ids.compactMap { byID[$0] }
    }

    /// The org's settings, or the defaults when it never saved any.
    public func settingsGet(orgID: UUID, on c: PostgresConnection? = nil) throws -> BudgetSettings {
        let sql = "SELECT budget_cap_cents, soft_warning_percent, max_concurrent_runs FROM collection_settings WHERE org_id = $1"
        let row = try (c.map { try $0.query(sql, [orgID]) } ?? pool.query(sql, [orgID])).first
        guard let row else { return BudgetSettings() }
        return BudgetSettings(budgetCapCents: try row.int("budget_cap_cents"), softWarningPercent: try row.int("soft_warning_percent"),
                              maxConcurrentRuns: try row.int("max_concurrent_runs"))
    }

    /// Saves the org's settings (validated by the caller).
    public func settingsPut(orgID: UUID, _ s: BudgetSettings, on c: PostgresConnection) throws {
        try c.query("""
            INSERT INTO collection_settings (org_id, budget_cap_cents, soft_warning_percent, max_concurrent_runs)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (org_id) DO UPDATE SET budget_cap_cents = EXCLUDED.budget_cap_cents,
                soft_warning_percent = EXCLUDED.soft_warning_percent,
                max_concurrent_runs = EXCLUDED.max_concurrent_runs, updated_at = now()
            """, [orgID, s.budgetCapCents, s.softWarningPercent, s.maxConcurrentRuns])
    }

    static func decodeCategory(_ row: PostgresRow) throws -> Category {
        Category(id: try row.string("id"), name: try row.string("name"), expectedProducts: try row.int("expected_products"),
                 expectedSellersPerProduct: try row.int("expected_sellers_per_product"))
    }
}

/// Operator actions for the audit trail (seed 004's activity_logs).
public struct ActivityLogRepository: Sendable {
    public init() {}

    /// Records `action` by `userID` in the caller's transaction.
    public func activityRecord(_ c: PostgresConnection, orgID: UUID, userID: UUID?, runID: UUID?, action: String,
                               details: [String: String] = [:], ipAddress: String? = nil, userAgent: String? = nil) throws {
        let json = String(decoding: try JSONWriter.encoded(details), as: UTF8.self)
        try c.query("""
            INSERT INTO activity_logs (user_id, org_id, run_id, action, resource_type, details, ip_address, user_agent)
            VALUES ($1, $2, $3, $4, 'collection_run', $5, $6, $7)
            """, [userID, orgID, runID, action, json, ipAddress, userAgent])
    }
}
