import Foundation
import HubStore

/// Commits bench items to one new run at a steady rate, stamping when each seq was sent, so
/// clients can measure commit→receive latency per event.
final class BenchProducer {
    let runID: UUID
    /// The WebSocket topic of the run.
    var topic: String { "run:\(runID.uuidString.lowercased())" }
    /// `sendTimes[seq]`: monotonic ns just before the statement carrying `seq` was sent.
    let sendTimes: UnsafeMutablePointer<UInt64>
    let capacity: Int
    private(set) var produced = 0
    private let db: PostgresConnection
    private let padding: String

    /// A new run in the first org; room for `capacity` items, each carrying `payloadBytes` of title.
    init(conninfo: String, capacity: Int, payloadBytes: Int = 5, name: String = "bench") throws {
        db = try PostgresConnection(conninfo: conninfo)
        runID = try db.query("""
            INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
            SELECT o.id, $1, 0, 1, '{bench}', (SELECT id FROM users ORDER BY created_at LIMIT 1)
            FROM orgs o ORDER BY o.created_at LIMIT 1 RETURNING id
            """, [name]).first!.uuid("id")
        self.capacity = capacity
        sendTimes = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity + 2)
        sendTimes.initialize(repeating: 0, count: capacity + 2)
        padding = String(repeating: "x", count: max(1, payloadBytes))
    }

    deinit { sendTimes.deallocate() }

    /// Commits `count` more items, `batch` per statement, at `rate` events/s (0: as fast as
    /// possible); returns the seconds it took.
    @discardableResult
    func produce(_ count: Int, rate: Int, batch: Int = 1) throws -> Double {
        let target = min(capacity, produced + count)
        let started = DispatchTime.now().uptimeNanoseconds, first = produced
        while produced < target {
            let n = min(max(1, batch), target - produced)
            if rate > 0 {
                let due = started + UInt64(Double(produced - first) / Double(rate) * 1e9)
                let now = DispatchTime.now().uptimeNanoseconds
                if due > now { usleep(UInt32((due - now) / 1000)) }
            }
            let t = DispatchTime.now().uptimeNanoseconds
            for seq in (produced + 1)...(produced + n) { sendTimes[seq] = t }
            try db.query("""
                INSERT INTO collection_items (run_id, item_type, external_id, status, data)
                SELECT $1, 'amazon_product', 'E' || g, 'completed', jsonb_build_object('title', $4::text)
                FROM generate_series($2::int, $3::int) g
                """, [runID, produced + 1, produced + n, padding])
            produced += n
        }
        return Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    }
}
