import Foundation
import HubStore
import XCTest

/// /runs, /runs/{id}, /runs/{id}/pause|resume|cancel, /runs/{id}/items and /sellers.
final class RESTRunTests: XCTestCase {
    func testCreateRunStoresTheRowAndAuditsIt() throws {
        let h = try HubHarness()
        let r = try h.rest("POST", "/runs", token: h.tokenA, body: #"{"name":"  Spring sweep  ","category_ids":["collectibles","beauty"]}"#)
        XCTAssertEqual(r.status, 201, r.text)
        let id = try XCTUnwrap(UUID(uuidString: try XCTUnwrap(r.object["id"] as? String)))
        XCTAssertEqual(r.object["name"] as? String, "Spring sweep", "the name is trimmed")
        XCTAssertEqual(r.object["status"] as? String, "pending")
        XCTAssertEqual(r.object["warnings"] as? [String], [])
        XCTAssertEqual(r.object["category_ids"] as? [String], ["collectibles", "beauty"])
        XCTAssertEqual(r.object["estimated_cost_cents"] as? Int, 385)
        XCTAssertEqual(r.object["org_id"] as? String, h.orgA.uuidString.lowercased())

        let row = try XCTUnwrap(h.pool.query("""
            SELECT org_id, name, status, estimated_cost_cents, budget_cap_cents, soft_warning_percent, total_items,
                   category_ids, created_by FROM collection_runs WHERE id = $1
            """, [id]).first)
        XCTAssertEqual(try row.uuid("org_id"), h.orgA)
        XCTAssertEqual(try row.string("name"), "Spring sweep")
        XCTAssertEqual(try row.string("status"), "pending")
        XCTAssertEqual(try row.int("estimated_cost_cents"), 385)
        XCTAssertEqual(try row.int("budget_cap_cents"), 2500)
        XCTAssertEqual(try row.int("soft_warning_percent"), 80)
        XCTAssertEqual(try row.int("total_items"), 330)
        XCTAssertEqual(try row.stringArray("category_ids"), ["collectibles", "beauty"])
        XCTAssertEqual(try row.uuid("created_by"), h.userA)
        let audit = try XCTUnwrap(h.pool.query("SELECT action, run_id, user_id FROM activity_logs WHERE org_id = $1", [h.orgA]).first)
        XCTAssertEqual(try audit.string("action"), "collection.run.create")
        XCTAssertEqual(try audit.uuid("run_id"), id)
        XCTAssertEqual(try audit.uuid("user_id"), h.userA)

        // Blank and absent names both get the dated default.
        for body in [#"{"category_ids":["beauty"]}"#, #"{"name":"   ","category_ids":["beauty"]}"#, #"{"name":null,"category_ids":["beauty"]}"#] {
            let d = try h.rest("POST", "/runs", token: h.tokenA, body: body)
            XCTAssertEqual(d.status, 201, body)
            XCTAssertTrue((d.object["name"] as? String ?? "").hasPrefix("Collection 20"), "\(body): \(d.text)")
        }
        // The soft warning is a warning, not a refusal.
        try h.pool.query("INSERT INTO collection_settings (org_id, budget_cap_cents, soft_warning_percent) VALUES ($1, 250, 80)", [h.orgB])
        let warned = try h.rest("POST", "/runs", token: h.tokenB, body: #"{"category_ids":["beauty"]}"#)
        XCTAssertEqual(warned.status, 201, warned.text)
        XCTAssertEqual((warned.object["warnings"] as? [String])?.count, 1, warned.text)
        XCTAssertEqual(warned.object["budget_cap_cents"] as? Int, 250)
    }

    func testCreateRunRefusalsWriteNothing() throws {
        let h = try HubHarness()
        let long = String(repeating: "n", count: 201)
        let cases: [(String, [String])] = [
            (#"{"name":"\#(long)","category_ids":["beauty"]}"#, ["name"]),
            (#"{"name":5,"category_ids":["beauty"]}"#, ["name"]),
            (#"{"name":5}"#, ["name", "category_ids"]),
            (#"{"category_ids":"beauty"}"#, ["category_ids"]),
            (#"{"category_ids":[]}"#, ["category_ids"]),
            (#"{"category_ids":["mars"]}"#, ["category_ids"]),
        ]
        for (body, fields) in cases {
            assertError(try h.rest("POST", "/runs", token: h.tokenA, body: body), 422, "validation", fields: fields, body)
        }
        for body in ["", "{", "[\"beauty\"]"] {
            assertError(try h.rest("POST", "/runs", token: h.tokenA, body: body), 400, "bad_json", body)
        }
        try h.pool.query("INSERT INTO collection_settings (org_id, budget_cap_cents) VALUES ($1, 200)", [h.orgA])
        assertError(try h.rest("POST", "/runs", token: h.tokenA, body: #"{"category_ids":["beauty"]}"#), 400, "over_budget")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_runs"), "0")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM activity_logs"), "0")
    }

    func testGetRunIsScopedToTheOrg() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try h.commitItems(run: run, count: 2)
        let r = try h.rest("GET", "/runs/\(run.uuidString)", token: h.tokenA)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.object["id"] as? String, run.uuidString.lowercased())
        XCTAssertEqual(r.object["name"] as? String, "Test run")
        XCTAssertEqual(r.object["item_seq"] as? Int, 2)
        XCTAssertEqual(r.object["budget_cap_cents"] as? Int, 2500)
        assertError(try h.rest("GET", "/runs/\(run.uuidString)", token: h.tokenB), 404, "not_found")
        assertError(try h.rest("GET", "/runs/\(UUID().uuidString)", token: h.tokenA), 404, "not_found")
    }

    func testListRunsPagesNewestFirstWithoutGapsOrRepeats() throws {
        let h = try HubHarness()
        // Three created by one statement share created_at: the cursor's id tiebreak must hold.
        try h.pool.query("""
            INSERT INTO collection_runs (org_id, name, estimated_cost_cents, budget_cap_cents, category_ids, created_by)
            SELECT $1, 'batch ' || g, 1, 2500, '{beauty}', $2 FROM generate_series(1, 3) g
            """, [h.orgA, h.userA])
        var made: [UUID] = []
        for _ in 0..<4 { made.append(try h.makeRun()) }
        _ = try h.makeRun(org: h.orgB)
        let expected = try h.pool.query("SELECT id FROM collection_runs WHERE org_id = $1 ORDER BY created_at DESC, id DESC", [h.orgA])
            .rows.map { try $0.uuid("id").uuidString.lowercased() }
        XCTAssertEqual(expected.count, 7)

        for limit in [1, 2, 3, 7, 200] {
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let path = "/runs?limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try h.rest("GET", path, token: h.tokenA)
                XCTAssertEqual(page.status, 200, "\(path): \(page.text)")
                seen += page.items.compactMap { $0["id"] as? String }
                cursor = page.object["next_cursor"] as? String
                if cursor == nil { XCTAssertTrue(page.object["next_cursor"] is NSNull, page.text) }
                pages += 1
            } while cursor != nil && pages < 20
            XCTAssertEqual(seen, expected, "limit \(limit)")
        }
        XCTAssertEqual(try h.rest("GET", "/runs", token: h.tokenB).items.count, 1)

        try h.pool.query("UPDATE collection_runs SET status = 'cancelled' WHERE id = $1", [made[1]])
        let cancelled = try h.rest("GET", "/runs?status=cancelled", token: h.tokenA)
        XCTAssertEqual(cancelled.items.compactMap { $0["id"] as? String }, [made[1].uuidString.lowercased()])
        XCTAssertEqual(try h.rest("GET", "/runs?status=running", token: h.tokenA).items.count, 0)
        XCTAssertEqual(try h.rest("GET", "/runs?status=pending", token: h.tokenA).items.count, 6)
    }

    func testListRunsRefusesBadQueries() throws {
        let h = try HubHarness()
        _ = try h.makeRun()
        for (query, field) in [("status=bogus", "status"), ("status=", "status"), ("limit=0", "limit"), ("limit=201", "limit"),
                               ("limit=abc", "limit"), ("limit=-1", "limit"), ("cursor=garbage", "cursor"),
                               ("cursor=123_not-a-uuid", "cursor"), ("cursor=abc_\(UUID().uuidString)", "cursor"),
                               ("cursor=1_2_3", "cursor")] {
            assertError(try h.rest("GET", "/runs?\(query)", token: h.tokenA), 422, "validation", fields: [field], query)
        }
        // A well-formed cursor from before every run is simply an empty page.
        let early = try h.rest("GET", "/runs?cursor=1_\(UUID().uuidString)", token: h.tokenA)
        XCTAssertEqual(early.status, 200)
        XCTAssertEqual(early.items.count, 0)
        XCTAssertEqual(try h.rest("GET", "/runs?limit=200", token: h.tokenA).items.count, 1)
    }

    func testPauseResumeCancelMoveTheRowAndAreGuarded() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let id = run.uuidString.lowercased()
        try h.pool.query("UPDATE collection_runs SET status = 'running', started_at = now() WHERE id = $1", [run])
        func row() throws -> PostgresRow {
            try XCTUnwrap(h.pool.query("SELECT status, status_reason, paused_at, completed_at FROM collection_runs WHERE id = $1", [run]).first)
        }

        let paused = try h.rest("POST", "/runs/\(id)/pause", token: h.tokenA)
        XCTAssertEqual(paused.status, 200, paused.text)
        XCTAssertEqual(paused.object["status"] as? String, "paused")
        XCTAssertEqual(paused.object["status_reason"] as? String, "admin")
        XCTAssertEqual(try row().string("status"), "paused")
        XCTAssertNotNil(try row().optionalDate("paused_at"))
        assertError(try h.rest("POST", "/runs/\(id)/pause", token: h.tokenA), 409, "invalid_transition", "an admin pause is not re-paused")

        let resumed = try h.rest("POST", "/runs/\(id)/resume", token: h.tokenA)
        XCTAssertEqual(resumed.status, 200, resumed.text)
        XCTAssertEqual(resumed.object["status"] as? String, "running")
        XCTAssertEqual(try row().string("status"), "running")
        XCTAssertNil(try row().optionalString("status_reason"))
        assertError(try h.rest("POST", "/runs/\(id)/resume", token: h.tokenA), 409, "invalid_transition", "a running run is not resumed")

        // Another org's token cannot touch it, whatever the verb.
        for verb in ["pause", "resume", "cancel"] {
            assertError(try h.rest("POST", "/runs/\(id)/\(verb)", token: h.tokenB), 404, "not_found", verb)
        }
        XCTAssertEqual(try row().string("status"), "running")

        let cancelled = try h.rest("POST", "/runs/\(id)/cancel", token: h.tokenA)
        XCTAssertEqual(cancelled.status, 200, cancelled.text)
        XCTAssertEqual(cancelled.object["status"] as? String, "cancelled")
        XCTAssertEqual(cancelled.object["status_reason"] as? String, "cancelled_by_admin")
        XCTAssertEqual(try row().string("status"), "cancelled")
        XCTAssertNotNil(try row().optionalDate("completed_at"))
        for verb in ["pause", "resume", "cancel"] {
            assertError(try h.rest("POST", "/runs/\(id)/\(verb)", token: h.tokenA), 409, "invalid_transition", "cancelled, then \(verb)")
        }
        XCTAssertEqual(try row().string("status"), "cancelled")

        let actions = try h.pool.query("SELECT action FROM activity_logs WHERE run_id = $1 ORDER BY id", [run]).rows.map { try $0.string("action") }
        XCTAssertEqual(actions, ["collection.run.pause", "collection.run.resume", "collection.run.cancel"], "refusals leave no audit row")

        let missing = UUID().uuidString
        for verb in ["pause", "resume", "cancel"] {
            assertError(try h.rest("POST", "/runs/\(missing)/\(verb)", token: h.tokenA), 404, "not_found", verb)
            assertError(try h.rest("POST", "/runs/nope/\(verb)", token: h.tokenA), 404, "not_found", verb)
        }
        // What `curl -X POST …/cancel` sends: no body, no Content-Length. Answered, not 411.
        let bare = try h.makeRun()
        let connection = try RawHTTPConnection(port: h.port)
        connection.send("POST /api/v1/runs/\(bare.uuidString.lowercased())/cancel HTTP/1.1\r\nHost: 127.0.0.1:\(h.port)\r\n"
                        + "Authorization: Bearer \(h.tokenA)\r\n\r\n")
        let bareAnswer = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(bareAnswer.status, 200, bareAnswer.text)
        XCTAssertEqual(try h.scalar("SELECT status AS v FROM collection_runs WHERE id = $1", [bare]), "cancelled")

        // A pending run may be cancelled but not paused.
        let pending = try h.makeRun().uuidString
        assertError(try h.rest("POST", "/runs/\(pending)/pause", token: h.tokenA), 409, "invalid_transition")
        XCTAssertEqual(try h.rest("POST", "/runs/\(pending)/cancel", token: h.tokenA).object["status"] as? String, "cancelled")
    }

    /// Items of one run: five products (3 completed, 2 failed) then four sellers (skipped every other).
    func seedItems(_ h: HubHarness, run: UUID) throws {
        try h.pool.query("""
            INSERT INTO collection_items (run_id, item_type, external_id, status, data, cost_cents, category_id)
            SELECT $1, 'amazon_product', 'P' || g, CASE WHEN g % 2 = 0 THEN 'failed' ELSE 'completed' END,
                   jsonb_build_object('title', 'Product ' || g), 2, 'beauty'
            FROM generate_series(1, 5) g
            """, [run])
        try h.pool.query("""
            INSERT INTO collection_items (run_id, item_type, external_id, status, cost_cents, category_id)
            SELECT $1, 'ebay_seller', 'S' || g, CASE WHEN g % 2 = 0 THEN 'skipped' ELSE 'completed' END, 1, 'beauty'
            FROM generate_series(1, 4) g
            """, [run])
    }

    func testRunItemsFilterAndPageBothWays() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try seedItems(h, run: run)
        let other = try h.makeRun()
        try h.commitItems(run: other, count: 3, prefix: "OTHER")
        let base = "/runs/\(run.uuidString)/items"
        func seqs(_ r: RESTAnswer) -> [Int] { r.items.compactMap { $0["seq"] as? Int } }

        let all = try h.rest("GET", base, token: h.tokenA)
        XCTAssertEqual(all.status, 200, all.text)
        XCTAssertEqual(seqs(all), [9, 8, 7, 6, 5, 4, 3, 2, 1], "newest first by default")
        XCTAssertTrue(all.object["next_cursor"] is NSNull)
        let first = try XCTUnwrap(all.items.last)
        XCTAssertEqual(first["external_id"] as? String, "P1")
        XCTAssertEqual(first["item_type"] as? String, "amazon_product")
        XCTAssertEqual(first["status"] as? String, "completed")
        XCTAssertEqual(first["run_id"] as? String, run.uuidString.lowercased())
        XCTAssertEqual((first["data"] as? [String: Any])?["title"] as? String, "Product 1")
        XCTAssertEqual(first["cost_cents"] as? Int, 2)
        XCTAssertEqual(first["category_id"] as? String, "beauty")

        XCTAssertEqual(seqs(try h.rest("GET", base + "?after=0", token: h.tokenA)), Array(1...9))
        XCTAssertEqual(seqs(try h.rest("GET", base + "?after=7", token: h.tokenA)), [8, 9])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?before=4", token: h.tokenA)), [3, 2, 1])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?after=2&before=6", token: h.tokenA)), [3, 4, 5])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?after=9", token: h.tokenA)), [])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?status=failed", token: h.tokenA)), [4, 2])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?status=skipped", token: h.tokenA)), [9, 7])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?item_type=ebay_seller", token: h.tokenA)), [9, 8, 7, 6])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?item_type=amazon_product&status=completed&after=0", token: h.tokenA)), [1, 3, 5])
        XCTAssertEqual(seqs(try h.rest("GET", base + "?status=pending", token: h.tokenA)), [])

        // Following next_cursor walks every item once, in both directions.
        var forward: [Int] = [], cursor: Int? = 0
        while let after = cursor, forward.count < 20 {
            let page = try h.rest("GET", base + "?after=\(after)&limit=4", token: h.tokenA)
            forward += seqs(page)
            cursor = page.object["next_cursor"] as? Int
        }
        XCTAssertEqual(forward, Array(1...9))
        var backward = seqs(try h.rest("GET", base + "?limit=4", token: h.tokenA))
        cursor = backward.last
        while let before = cursor, backward.count < 20 {
            let page = try h.rest("GET", base + "?before=\(before)&limit=4", token: h.tokenA)
            backward += seqs(page)
            cursor = page.object["next_cursor"] as? Int
        }
        XCTAssertEqual(backward, Array((1...9).reversed()))

        // `cursor` (as for runs and sellers) continues the newest-first listing.
        var viaCursor = seqs(try h.rest("GET", base + "?limit=4", token: h.tokenA))
        var next = try h.rest("GET", base + "?limit=4", token: h.tokenA).object["next_cursor"] as? Int
        while let c = next, viaCursor.count < 20 {
            let page = try h.rest("GET", base + "?cursor=\(c)&limit=4", token: h.tokenA)
            XCTAssertEqual(page.status, 200, page.text)
            viaCursor += seqs(page)
            next = page.object["next_cursor"] as? Int
        }
        XCTAssertEqual(viaCursor, Array((1...9).reversed()))
        XCTAssertEqual(seqs(try h.rest("GET", base + "?status=failed&cursor=5", token: h.tokenA)), [4, 2])
    }

    func testRunItemsRefusals() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        try seedItems(h, run: run)
        let base = "/runs/\(run.uuidString)/items"
        for (query, field) in [("status=bogus", "status"), ("item_type=book", "item_type"), ("after=-1", "after"),
                               ("after=x", "after"), ("before=1.5", "before"), ("limit=0", "limit"), ("limit=201", "limit"),
                               ("cursor=x", "cursor"), ("cursor=-1", "cursor"), ("cursor=1e3", "cursor"),
                               ("cursor=99999999999999999999", "cursor"), ("cursor=3&after=1", "cursor"), ("cursor=3&before=2", "cursor")] {
            assertError(try h.rest("GET", base + "?" + query, token: h.tokenA), 422, "validation", fields: [field], query)
        }
        let foreign = try h.rest("GET", base, token: h.tokenB)
        assertError(foreign, 404, "not_found")
        XCTAssertFalse(foreign.text.contains("Product"))
        assertError(try h.rest("GET", "/runs/\(UUID().uuidString)/items", token: h.tokenA), 404, "not_found")
    }

    func testSellersSearchPageAndStayInTheirOrg() throws {
        let h = try HubHarness()
        // Seen counts make the order total: most seen first, then by normalized name.
        let sellers: [(String, String, Int)] = [("Alpha Shop", "alpha shop", 5), ("Beta_Store", "beta_store", 3),
                                                ("Gamma 100% Deals", "gamma 100% deals", 3), ("Delta", "delta", 1),
                                                ("BetaXStore", "betaxstore", 1)]
        for (display, normalized, seen) in sellers {
            try h.pool.query("INSERT INTO sellers (org_id, display_name, normalized_name, platform, times_seen) VALUES ($1, $2, $3, 'ebay', $4)",
                             [h.orgA, display, normalized, seen])
        }
        try h.pool.query("INSERT INTO sellers (org_id, display_name, normalized_name, platform, times_seen) VALUES ($1, 'Alpha Secret B', 'alpha secret b', 'ebay', 99)", [h.orgB])
        func names(_ r: RESTAnswer) -> [String] { r.items.compactMap { $0["display_name"] as? String } }

        let all = try h.rest("GET", "/sellers", token: h.tokenA)
        XCTAssertEqual(all.status, 200, all.text)
        XCTAssertEqual(names(all), ["Alpha Shop", "Beta_Store", "Gamma 100% Deals", "BetaXStore", "Delta"])
        XCTAssertTrue(all.object["next_cursor"] is NSNull)
        XCTAssertEqual(all.items.first?["times_seen"] as? Int, 5)
        XCTAssertEqual(all.items.first?["platform"] as? String, "ebay")
        XCTAssertEqual(all.items.first?["normalized_name"] as? String, "alpha shop")

        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=ALPHA", token: h.tokenA)), ["Alpha Shop"], "search is by normalized name")
        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=beta", token: h.tokenA)), ["Beta_Store", "BetaXStore"])
        // LIKE wildcards in the search are literal characters.
        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=beta_", token: h.tokenA)), ["Beta_Store"])
        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=100%25", token: h.tokenA)), ["Gamma 100% Deals"])
        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=", token: h.tokenA)).count, 5, "an empty search is no search")
        XCTAssertEqual(names(try h.rest("GET", "/sellers?q=secret", token: h.tokenA)), [])

        var walked: [String] = [], cursor: String? = nil, pages = 0
        repeat {
            let page = try h.rest("GET", "/sellers?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: h.tokenA)
            XCTAssertEqual(page.status, 200, page.text)
            walked += names(page)
            cursor = page.object["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        XCTAssertEqual(walked, names(all))
        XCTAssertEqual(pages, 3)

        for (query, field) in [("cursor=-1", "cursor"), ("cursor=abc", "cursor"), ("cursor=1000001", "cursor"),
                               ("limit=0", "limit"), ("limit=500", "limit")] {
            assertError(try h.rest("GET", "/sellers?" + query, token: h.tokenA), 422, "validation", fields: [field], query)
        }
        XCTAssertEqual(names(try h.rest("GET", "/sellers", token: h.tokenB)), ["Alpha Secret B"])
    }
}
