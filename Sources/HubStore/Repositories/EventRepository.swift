import Foundation
import HubCore

/// The reads behind the WebSocket fan-out (snapshots, replays, backfills, badges). Events
/// come back as the JSON the triggers produce (the same SQL functions), so a replayed event
/// is byte-identical to a live one. Every read is scoped to the subscriber's org.
public struct EventRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Items of `run` (of `org`) after `after`, oldest first, at most `limit`.
    public func itemEventsRead(run: UUID, org: UUID, after: Int64, limit: Int) throws -> ItemEventPage {
        try pool.withConnection { try Self.itemEvents($0, run: run, org: org, after: after, limit: limit) }
    }

    /// The run event and its sequence number, then the items after `since` (a page of
    /// `limit`) or, without `since`, the newest `recent` items; nil when the run does not
    /// exist or belongs to another org. One connection, so the items are read after the run.
    public func runSnapshotRead(run: UUID, org: UUID, since: Int64?, limit: Int, recent: Int) throws -> RunEventSnapshot? {
        try pool.withConnection { c in
            guard let row = try c.query("""
                SELECT r.item_seq, collection_run_event(r)::text AS ev FROM collection_runs r WHERE r.id = $1 AND r.org_id = $2
                """, [run, org]).first else { return nil }
            let seq = try row.int64("item_seq")
            let items = try since.map { try Self.itemEvents(c, run: run, org: org, after: $0, limit: limit) }
                ?? Self.itemEvents(c, run: run, org: org, after: max(0, seq - Int64(recent)), limit: recent)
            return RunEventSnapshot(runEvent: try row.optionalBytes("ev") ?? [], runSeq: seq, items: items)
        }
    }

    /// The run event of `run` (of `org`), nil when there is none.
    public func runEventRead(run: UUID, org: UUID) throws -> [UInt8]? {
        try pool.withConnection {
            try $0.query("SELECT collection_run_event(r)::text AS ev FROM collection_runs r WHERE r.id = $1 AND r.org_id = $2", [run, org])
                .first?.optionalBytes("ev")
        }
    }

    /// The badge event: an org's runs by live status.
    public func orgBadgeRead(org: UUID) throws -> [UInt8] {
        try pool.withConnection { try Self.badge($0, org: org) }
    }

    /// Run events of an org's live and recently finished runs, newest first, with the run ids.
    public func orgRunEventsRead(org: UUID, limit: Int = 50) throws -> [(run: String, event: [UInt8])] {
        try pool.withConnection { try Self.orgRuns($0, org: org, limit: limit) }
    }

    /// The org topic's first read: its runs and its badge, on one connection.
    public func orgSnapshotRead(org: UUID, limit: Int = 50) throws -> (runs: [(run: String, event: [UInt8])], badge: [UInt8]) {
        try pool.withConnection { (try Self.orgRuns($0, org: org, limit: limit), try Self.badge($0, org: org)) }
    }

    private static func itemEvents(_ c: PostgresConnection, run: UUID, org: UUID, after: Int64, limit: Int) throws -> ItemEventPage {
        let rows = try c.query("""
            SELECT i.seq, collection_item_event(i, s)::text AS ev
            FROM collection_items i LEFT JOIN sellers s ON s.id = i.seller_id
            WHERE i.run_id = $1 AND i.org_id = $2 AND i.seq > $3 ORDER BY i.seq LIMIT $4
            """, [run, org, after, limit]).rows
        var page = ItemEventPage.empty
        page.events.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            let seq = try row.int64("seq")
            if i == 0 { page.lo = seq }
            page.hi = seq
            page.events.append(try row.optionalBytes("ev") ?? [])
        }
        return page
    }

    private static func badge(_ c: PostgresConnection, org: UUID) throws -> [UInt8] {
        let row = try c.query("""
            SELECT count(*) FILTER (WHERE status = 'running') AS running,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'paused') AS paused
            FROM collection_runs WHERE org_id = $1 AND status IN ('pending', 'running', 'paused')
            """, [org]).first
        let n = { (name: String) in try row?.int(name) ?? 0 }
        return Array("{\"type\":\"badge\",\"running\":\(try n("running")),\"pending\":\(try n("pending")),\"paused\":\(try n("paused"))}".utf8)
    }

    private static func orgRuns(_ c: PostgresConnection, org: UUID, limit: Int) throws -> [(run: String, event: [UInt8])] {
        try c.query("""
            SELECT r.id::text AS id, collection_run_event(r)::text AS ev FROM collection_runs r
            WHERE r.org_id = $1 AND (r.status IN ('pending', 'running', 'paused') OR r.updated_at > now() - interval '1 day')
            ORDER BY r.created_at DESC LIMIT $2
            """, [org, limit]).rows.map { (try $0.string("id"), try $0.optionalBytes("ev") ?? []) }
    }
}
