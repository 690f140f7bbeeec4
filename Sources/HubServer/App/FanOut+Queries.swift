import Foundation
import HubStore

/// The table reads behind snapshots, replays and backfills. They run on the database
/// queue, never on the loop, and return the events as the JSON the triggers produce
/// (the same SQL functions), so a replayed event is byte-identical to a live one.
enum FanOutQueries {
    /// Items of a run after `afterSeq` (up to `upTo`), oldest first.
    static func items(_ c: PostgresConnection, run: UUID, afterSeq: Int64, upTo: Int64 = .max,
                      limit: Int) throws -> (events: [[UInt8]], lo: Int64, hi: Int64) {
        let rows = try c.query("""
            SELECT i.seq, collection_item_event(i, s)::text AS ev
            FROM collection_items i LEFT JOIN sellers s ON s.id = i.seller_id
            WHERE i.run_id = $1 AND i.seq > $2 AND i.seq <= $3 ORDER BY i.seq LIMIT $4
            """, [run, afterSeq, upTo, limit]).rows
        var events: [[UInt8]] = []
        events.reserveCapacity(rows.count)
        var lo: Int64 = 0, hi: Int64 = -1
        for (i, row) in rows.enumerated() {
            let seq = try row.int64("seq")
            if i == 0 { lo = seq }
            hi = seq
            events.append(try row.optionalBytes("ev") ?? [])
        }
        return (events, lo, hi)
    }

    /// The newest `count` items of a run up to `seq`, oldest first. The run row was read by
    /// an earlier statement: items committed since carry later seqs and reach the client as
    /// live waves, so the snapshot must stop at `seq` or they would arrive twice.
    static func recentItems(_ c: PostgresConnection, run: UUID, upTo seq: Int64, count: Int) throws -> [[UInt8]] {
        try items(c, run: run, afterSeq: max(0, seq - Int64(count)), upTo: seq, limit: count).events
    }

    /// A run of `org` (nil when it does not exist or belongs to another org).
    static func run(_ c: PostgresConnection, run: UUID, org: UUID) throws -> (event: [UInt8], seq: Int64)? {
        guard let row = try c.query("""
            SELECT r.item_seq, collection_run_event(r)::text AS ev FROM collection_runs r WHERE r.id = $1 AND r.org_id = $2
            """, [run, org]).first else { return nil }
        return (try row.optionalBytes("ev") ?? [], try row.int64("item_seq"))
    }

    /// Run event by id alone (topic refresh after a LISTEN outage).
    static func runEvent(_ c: PostgresConnection, run: UUID) throws -> [UInt8]? {
        try c.query("SELECT collection_run_event(r)::text AS ev FROM collection_runs r WHERE r.id = $1", [run])
            .first?.optionalBytes("ev")
    }

    /// The badge event: runs of an org by live status.
    static func badge(_ c: PostgresConnection, org: UUID) throws -> [UInt8] {
        let row = try c.query("""
            SELECT count(*) FILTER (WHERE status = 'running') AS running,
                   count(*) FILTER (WHERE status = 'pending') AS pending,
                   count(*) FILTER (WHERE status = 'paused') AS paused
            FROM collection_runs WHERE org_id = $1 AND status IN ('pending', 'running', 'paused')
            """, [org]).first!
        return Array("{\"type\":\"badge\",\"running\":\(try row.int("running")),\"pending\":\(try row.int("pending")),\"paused\":\(try row.int("paused"))}".utf8)
    }

    /// Run events of an org's live and recently finished runs, newest first, with the run ids.
    static func orgRuns(_ c: PostgresConnection, org: UUID, limit: Int = 50) throws -> [(run: String, event: [UInt8])] {
        try c.query("""
            SELECT r.id::text AS id, collection_run_event(r)::text AS ev FROM collection_runs r
            WHERE r.org_id = $1 AND (r.status IN ('pending', 'running', 'paused') OR r.updated_at > now() - interval '1 day')
            ORDER BY r.created_at DESC LIMIT $2
            """, [org, limit]).rows.map { (try $0.string("id"), try $0.optionalBytes("ev") ?? []) }
    }
}

extension Array where Element == [UInt8] {
    /// `a,b,c` — the inside of a JSON array.
    func joinedWithCommas() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(reduce(0) { $0 + $1.count + 1 })
        for (i, e) in enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: e)
        }
        return out
    }
}
