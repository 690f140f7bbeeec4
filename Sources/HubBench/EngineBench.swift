import ArgumentParser
import Foundation
import HubEngine
import HubStore

extension BenchCommand {
    /// `bench engine`: items/s the engine commits and a client receives (simulated provider at
    /// zero latency), each round followed by a bare batched INSERT of the very rows that run
    /// wrote, on the same database: the engine's figure is stated as a ratio to it, which holds
    /// on a loaded machine where the absolute figures do not.
    struct EngineBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "engine",
            abstract: "Items/s committed and delivered, simulated provider at zero latency, beside a bare batched INSERT of the same rows.")
        @OptionGroup var target: Target
        @Option(help: "Items the run should produce (products plus sellers).") var items: Int = 5000
        @Option(help: "Engine run then bare INSERT, this many times in a row (alternating).") var rounds: Int = 1
        @Option(help: "Rows per bare INSERT statement (default: the engine's largest batch).") var batch: Int = EngineConfig().batchMaxItems

        func validate() throws {
            guard (100...1_000_000).contains(items) else { throw ValidationError("--items takes 100 to 1000000") }
            guard (1...20).contains(rounds) else { throw ValidationError("--rounds takes 1 to 20") }
            guard (1...1000).contains(batch) else { throw ValidationError("--batch takes 1 to 1000") }
        }

        func run() throws {
            let hub = try target.start(engine: true)
            defer { hub.stop() }
            let db = try PostgresConnection(conninfo: hub.conninfo)
            // One product per item, one seller each: the simulator's seller pool is small, so
            // sellers repeat and most items are products; the count is read back at the end.
            try db.query("""
                INSERT INTO categories (id, name, expected_products, expected_sellers_per_product, sort_order)
                VALUES ('bench', 'Bench', $1, 1, 999) ON CONFLICT (id) DO UPDATE SET expected_products = EXCLUDED.expected_products
                """, [max(1, items - 84)])
            try db.query("UPDATE collection_settings SET budget_cap_cents = 1000000000")
            try db.query("""
                INSERT INTO collection_settings (org_id, budget_cap_cents) SELECT id, 1000000000 FROM orgs ON CONFLICT (org_id) DO NOTHING
                """)
            for round in 1...rounds {
                var result = try engineRun(hub: hub, db: db)
                let runID = result["run"] as? String ?? ""
                let bare = try bareInsert(db: db, copying: UUID(uuidString: runID)!)
                result["round"] = round
                result["bare_insert_per_s"] = bare
                if let committed = result["committed_per_s"] as? Double, bare > 0 { result["committed_ratio"] = committed / bare }
                if let delivered = result["delivered_per_s"] as? Double, bare > 0 { result["delivered_ratio"] = delivered / bare }
                try target.emit(result)
            }
        }

        /// One run through the engine, one client subscribed to it from seq 0.
        private func engineRun(hub: BenchHubProcess, db: PostgresConnection) throws -> [String: Any] {
            let sendTimes = UnsafeMutablePointer<UInt64>.allocate(capacity: items * 2 + 2)
            sendTimes.initialize(repeating: 0, count: items * 2 + 2)
            defer { sendTimes.deallocate() }
            let runID = try BenchREST.createRun(port: hub.port, token: hub.token, categories: ["bench"])
            let group = BenchClients(expectedEvents: items * 2, subscribe: "{\"type\":\"subscribe\",\"topic\":\"run:\(runID)\",\"since\":0}",
                                     sendTimes: sendTimes)
            group.connect(count: 1, port: hub.port, token: hub.token)
            let deadline = Date().addingTimeInterval(600)
            var row: PostgresRow?
            while Date() < deadline {
                row = try db.query("""
                    SELECT status, item_seq, EXTRACT(EPOCH FROM (completed_at - started_at)) AS secs FROM collection_runs WHERE id = $1
                    """, [UUID(uuidString: runID)!]).first
                if let status = try row?.string("status"), status != "pending" && status != "running" { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            let total = try row?.int("item_seq") ?? 0
            _ = waitUntil(timeout: 30) { group.snapshot.delivered >= total }
            let seconds = Double(try row?.optionalString("secs") ?? "0") ?? 0
            let deliveredSpan = Double(group.lastReceive - group.firstReceive) / 1e9
            group.stop()
            let commits = try db.query("SELECT count(DISTINCT xmin::text) AS n FROM collection_items WHERE run_id = $1",
                                       [UUID(uuidString: runID)!]).first?.int("n") ?? 0
            return ["scenario": "engine", "run": runID, "items": total, "status": try row?.string("status") ?? "?",
                    "committed_per_s": seconds > 0 ? Double(total) / seconds : 0,
                    "delivered": group.delivered, "delivered_per_s": deliveredSpan > 0 ? Double(group.delivered) / deliveredSpan : 0,
                    "run_seconds": seconds, "commits": commits, "items_per_commit": commits > 0 ? Double(total) / Double(commits) : 0]
        }

        /// The rows `runID` wrote, inserted again under a run of their own with the engine's
        /// statement (unnest arrays, explicit seq), `batch` rows per autocommit statement on
        /// one connection: the same table, indexes and triggers, none of the engine's other
        /// work. Rows per second.
        private func bareInsert(db: PostgresConnection, copying runID: UUID) throws -> Double {
            let rows = try db.query("""
                SELECT org_id, item_type, external_id, status, data::text AS data, error_code, error_message, cost_cents,
                       category_id, seller_id FROM collection_items WHERE run_id = $1 ORDER BY seq
                """, [runID]).rows
            guard let orgID = try rows.first?.uuid("org_id") else { return 0 }
            let bareRun = try db.query("""
                INSERT INTO collection_runs (org_id, name, status, estimated_cost_cents, budget_cap_cents, category_ids, created_by, completed_at)
                SELECT org_id, 'bench bare insert', 'completed', 0, budget_cap_cents, category_ids, created_by, now()
                FROM collection_runs WHERE id = $1
                RETURNING id
                """, [runID]).first!.uuid("id")
            let started = DispatchTime.now().uptimeNanoseconds
            var seq = 0
            for chunk in stride(from: 0, to: rows.count, by: batch) {
                let part = Array(rows[chunk..<min(rows.count, chunk + batch)])
                try db.query("""
                    INSERT INTO collection_items (run_id, org_id, seq, item_type, external_id, status, data, error_code,
                        error_message, cost_cents, category_id, seller_id, updated_at)
                    SELECT $1, $2, t.seq, t.item_type, t.external_id, t.status, t.data::jsonb, t.error_code, t.error_message,
                        t.cost, t.category_id, t.seller_id, now()
                    FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                $10::int[], $11::text[], $12::uuid[])
                        AS t(seq, item_type, external_id, status, data, error_code, error_message, cost, category_id, seller_id)
                    """, [bareRun, orgID,
                          PostgresArray(part.indices.map { String(seq + $0 + 1) }),
                          PostgresArray(try part.map { try $0.string("item_type") }),
                          PostgresArray(try part.map { try $0.string("external_id") }),
                          PostgresArray(try part.map { try $0.string("status") }),
                          PostgresArray(try part.map { try $0.optionalString("data") }),
                          PostgresArray(try part.map { try $0.optionalString("error_code") }),
                          PostgresArray(try part.map { try $0.optionalString("error_message") }),
                          PostgresArray(try part.map { String(try $0.int("cost_cents")) }),
                          PostgresArray(try part.map { try $0.optionalString("category_id") }),
                          PostgresArray(try part.map { try $0.optionalUUID("seller_id")?.uuidString })])
                seq += part.count
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return seconds > 0 ? Double(rows.count) / seconds : 0
        }
    }
}
