import Foundation
import HubStore
import XCTest

/// /settings, /categories, /estimate and /status.
final class RESTSettingsCatalogTests: XCTestCase {
    func testSettingsDefaultThenPutIsStoredAuditedAndPerOrg() throws {
        let h = try HubHarness()
        let initial = try h.rest("GET", "/settings", token: h.tokenA)
        XCTAssertEqual(initial.status, 200)
        XCTAssertEqual(initial.object["budget_cap_cents"] as? Int, 2500)
        XCTAssertEqual(initial.object["soft_warning_percent"] as? Int, 80)
        XCTAssertEqual(initial.object["max_concurrent_runs"] as? Int, 3)

        let put = try h.rest("PUT", "/settings", token: h.tokenA, body: #"{"budget_cap_cents":12345,"soft_warning_percent":55,"max_concurrent_runs":7}"#,
                             headers: ["User-Agent: rest-test/1"])
        XCTAssertEqual(put.status, 200, put.text)
        XCTAssertEqual(put.object["budget_cap_cents"] as? Int, 12345)
        XCTAssertEqual(put.object["soft_warning_percent"] as? Int, 55)
        XCTAssertEqual(put.object["max_concurrent_runs"] as? Int, 7)
        let row = try XCTUnwrap(h.pool.query("SELECT budget_cap_cents, soft_warning_percent, max_concurrent_runs FROM collection_settings WHERE org_id = $1", [h.orgA]).first)
        XCTAssertEqual(try row.int("budget_cap_cents"), 12345)
        XCTAssertEqual(try row.int("soft_warning_percent"), 55)
        XCTAssertEqual(try row.int("max_concurrent_runs"), 7)
        XCTAssertEqual(try h.rest("GET", "/settings", token: h.tokenA).object["budget_cap_cents"] as? Int, 12345)

        let audit = try XCTUnwrap(h.pool.query("SELECT user_id, action, details, user_agent, ip_address FROM activity_logs WHERE org_id = $1", [h.orgA]).first)
        XCTAssertEqual(try audit.string("action"), "collection.settings.update")
        XCTAssertEqual(try audit.uuid("user_id"), h.userA)
        XCTAssertEqual(try audit.string("user_agent"), "rest-test/1")
        XCTAssertEqual(try audit.string("ip_address"), "127.0.0.1")
        XCTAssertTrue(try audit.string("details").contains("\"budget_cap_cents\":\"12345\""))

        // A second PUT replaces the row rather than adding one.
        XCTAssertEqual(try h.rest("PUT", "/settings", token: h.tokenA, body: #"{"budget_cap_cents":1,"soft_warning_percent":100,"max_concurrent_runs":100}"#).status, 200)
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_settings"), "1")
        XCTAssertEqual(try h.scalar("SELECT budget_cap_cents::text AS v FROM collection_settings"), "1")

        let other = try h.rest("GET", "/settings", token: h.tokenB)
        XCTAssertEqual(other.object["budget_cap_cents"] as? Int, 2500, "org B keeps its defaults")
    }

    func testSettingsRefusalsNameTheFieldAndChangeNothing() throws {
        let h = try HubHarness()
        let cases: [(body: String, fields: [String])] = [
            (#"{"budget_cap_cents":0,"soft_warning_percent":80,"max_concurrent_runs":3}"#, ["budget_cap_cents"]),
            (#"{"budget_cap_cents":10000001,"soft_warning_percent":80,"max_concurrent_runs":3}"#, ["budget_cap_cents"]),
            (#"{"budget_cap_cents":100,"soft_warning_percent":0,"max_concurrent_runs":3}"#, ["soft_warning_percent"]),
            (#"{"budget_cap_cents":100,"soft_warning_percent":101,"max_concurrent_runs":3}"#, ["soft_warning_percent"]),
            (#"{"budget_cap_cents":100,"soft_warning_percent":80,"max_concurrent_runs":0}"#, ["max_concurrent_runs"]),
            (#"{"budget_cap_cents":100,"soft_warning_percent":80,"max_concurrent_runs":101}"#, ["max_concurrent_runs"]),
            (#"{"budget_cap_cents":-1,"soft_warning_percent":500,"max_concurrent_runs":-5}"#,
             ["budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"]),
            ("{}", ["budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"]),
            (#"{"budget_cap_cents":true,"soft_warning_percent":80,"max_concurrent_runs":3}"#, ["budget_cap_cents"]),
            (#"{"budget_cap_cents":100.5,"soft_warning_percent":80,"max_concurrent_runs":3}"#, ["budget_cap_cents"]),
            (#"{"budget_cap_cents":"100","soft_warning_percent":80,"max_concurrent_runs":null}"#, ["budget_cap_cents", "max_concurrent_runs"]),
        ]
        for (body, fields) in cases {
            assertError(try h.rest("PUT", "/settings", token: h.tokenA, body: body), 422, "validation", fields: fields, body)
        }
        for body in ["", "{nope", "[1,2]", "\"text\"", "42"] {
            assertError(try h.rest("PUT", "/settings", token: h.tokenA, body: body), 400, "bad_json", body)
        }
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_settings"), "0")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM activity_logs"), "0")
    }

    func testCategoriesListTheWholeCatalogInOrder() throws {
        let h = try HubHarness()
        let r = try h.rest("GET", "/categories", token: h.tokenA)
        XCTAssertEqual(r.status, 200)
        XCTAssertTrue(r.object.keys.contains("next_cursor"))
        XCTAssertTrue(r.object["next_cursor"] is NSNull, "the catalog is one page")
        let expected = try h.pool.query("SELECT id, name, expected_products, expected_sellers_per_product FROM categories ORDER BY sort_order, id").rows
        XCTAssertEqual(r.items.count, expected.count)
        XCTAssertEqual(r.items.count, 8)
        for (item, row) in zip(r.items, expected) {
            XCTAssertEqual(item["id"] as? String, try row.string("id"))
            XCTAssertEqual(item["name"] as? String, try row.string("name"))
            XCTAssertEqual(item["expected_products"] as? Int, try row.int("expected_products"))
            XCTAssertEqual(item["expected_sellers_per_product"] as? Int, try row.int("expected_sellers_per_product"))
        }
        XCTAssertEqual(r.items.first?["id"] as? String, "electronics")
    }

    func testEstimateBreakdownAndVerdicts() throws {
        let h = try HubHarness()
        // beauty: 30 products × 2¢ + 30 × 5 sellers × 1¢ = 210¢; collectibles: 25 × 2¢ + 125 × 1¢ = 175¢.
        let r = try h.rest("POST", "/estimate", token: h.tokenA, body: #"{"category_ids":["beauty","collectibles"]}"#)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.object["total_cents"] as? Int, 385)
        XCTAssertEqual(r.object["expected_products"] as? Int, 55)
        XCTAssertEqual(r.object["expected_sellers"] as? Int, 275)
        XCTAssertEqual(r.object["expected_items"] as? Int, 330)
        XCTAssertEqual(r.object["budget_cap_cents"] as? Int, 2500)
        XCTAssertEqual(r.object["soft_warning_percent"] as? Int, 80)
        XCTAssertEqual(r.object["percent_of_cap"] as? Int, 15)
        XCTAssertEqual(r.object["verdict"] as? String, "within_budget")
        XCTAssertEqual(r.object["warnings"] as? [String], [])
        let rows = try XCTUnwrap(r.object["categories"] as? [[String: Any]])
        XCTAssertEqual(rows.compactMap { $0["category_id"] as? String }, ["beauty", "collectibles"], r.text)
        XCTAssertEqual(rows.compactMap { $0["total_cents"] as? Int }, [210, 175], r.text)

        try h.pool.query("INSERT INTO collection_settings (org_id, budget_cap_cents, soft_warning_percent) VALUES ($1, 250, 80)", [h.orgA])
        let soft = try h.rest("POST", "/estimate", token: h.tokenA, body: #"{"category_ids":["beauty"]}"#)
        XCTAssertEqual(soft.object["verdict"] as? String, "soft_warning", soft.text)
        XCTAssertEqual(soft.object["percent_of_cap"] as? Int, 84)
        XCTAssertEqual((soft.object["warnings"] as? [String])?.count, 1)
        // Over the cap is still an answer for an estimate (creating the run is what is refused).
        let over = try h.rest("POST", "/estimate", token: h.tokenA, body: #"{"category_ids":["beauty","collectibles"]}"#)
        XCTAssertEqual(over.status, 200)
        XCTAssertEqual(over.object["verdict"] as? String, "over_cap", over.text)
        // Org B's settings are its own.
        XCTAssertEqual(try h.rest("POST", "/estimate", token: h.tokenB, body: #"{"category_ids":["beauty"]}"#).object["verdict"] as? String, "within_budget")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_runs"), "0", "an estimate writes nothing")
    }

    func testEstimateRefusals() throws {
        let h = try HubHarness()
        let hundredAndOne = "[" + (0...100).map { "\"c\($0)\"" }.joined(separator: ",") + "]"
        let cases: [(String, [String])] = [
            (#"{"category_ids":[]}"#, ["category_ids"]),
            (#"{"category_ids":["mars"]}"#, ["category_ids"]),
            (#"{"category_ids":["beauty","beauty"]}"#, ["category_ids"]),
            (#"{"category_ids":"beauty"}"#, ["category_ids"]),
            (#"{"category_ids":[1]}"#, ["category_ids"]),
            ("{}", ["category_ids"]),
            (#"{"category_ids":\#(hundredAndOne)}"#, ["category_ids"]),
        ]
        for (body, fields) in cases {
            assertError(try h.rest("POST", "/estimate", token: h.tokenA, body: body), 422, "validation", fields: fields, body)
        }
        let unknown = try h.rest("POST", "/estimate", token: h.tokenA, body: #"{"category_ids":["beauty","mars","venus"]}"#)
        let message = (unknown.error?["fields"] as? [[String: Any]])?.first?["message"] as? String ?? ""
        XCTAssertTrue(message.hasPrefix("unknown categories: mars, venus; known: "), message)
        XCTAssertTrue(message.contains("beauty") && message.contains("collectibles"), "the valid ids are named: \(message)")
        for body in ["", "{", "[]", "null"] {
            assertError(try h.rest("POST", "/estimate", token: h.tokenA, body: body), 400, "bad_json", body)
        }
    }

    func testStatusCountsTheOrgsLiveRunsOnly() throws {
        let h = try HubHarness()
        let zero = try h.rest("GET", "/status", token: h.viewerA)
        XCTAssertEqual(zero.status, 200)
        XCTAssertEqual(zero.object as NSDictionary, ["running": 0, "pending": 0, "paused": 0] as NSDictionary)
        for (org, status) in [(h.orgA, "running"), (h.orgA, "running"), (h.orgA, "pending"), (h.orgA, "paused"),
                              (h.orgA, "completed"), (h.orgA, "cancelled"), (h.orgA, "failed"),
                              (h.orgB, "running"), (h.orgB, "pending"), (h.orgB, "pending")] {
            let run = try h.makeRun(org: org)
            try h.pool.query("UPDATE collection_runs SET status = $2 WHERE id = $1", [run, status])
        }
        XCTAssertEqual(try h.rest("GET", "/status", token: h.viewerA).object as NSDictionary,
                       ["running": 2, "pending": 1, "paused": 1] as NSDictionary)
        XCTAssertEqual(try h.rest("GET", "/status", token: h.tokenA).object as NSDictionary,
                       ["running": 2, "pending": 1, "paused": 1] as NSDictionary)
        XCTAssertEqual(try h.rest("GET", "/status", token: h.tokenB).object as NSDictionary,
                       ["running": 1, "pending": 2, "paused": 0] as NSDictionary)
    }
}
