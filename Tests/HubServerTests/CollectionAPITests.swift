import Foundation
import HubClient
import HubStore
import XCTest

final class CollectionAPITests: XCTestCase {
    func api(_ h: HubHarness, _ method: String, _ path: String, token: String?, body: String? = nil) throws -> (status: Int, json: [String: Any]) {
        let headers = token.map { ["Authorization: Bearer \($0)"] } ?? []
        let r = try XCTUnwrap(http(port: h.port, method: method, path: "/api/v1" + path, headers: headers, body: body))
        let json = (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:]
        return (r.status, json)
    }

    func testCreateReadControlAndErrors() throws {
        let h = try HubHarness()
        XCTAssertEqual(try api(h, "GET", "/runs", token: nil).status, 401)
        XCTAssertEqual(try api(h, "GET", "/runs", token: "chub_wrong").status, 401)
        XCTAssertEqual(try api(h, "GET", "/runs", token: h.viewerA).status, 200, "view reads runs")
        XCTAssertEqual(try api(h, "GET", "/sellers", token: h.viewerA).status, 403)
        XCTAssertEqual(try api(h, "GET", "/status", token: h.viewerA).status, 200)

        let created = try api(h, "POST", "/runs", token: h.tokenA, body: "{\"category_ids\":[\"beauty\"],\"name\":\"Spring\"}")
        XCTAssertEqual(created.status, 201)
        XCTAssertEqual(created.json["status"] as? String, "pending")
        XCTAssertEqual(created.json["name"] as? String, "Spring")
        XCTAssertNotNil(created.json["warnings"] as? [Any])
        let id = try XCTUnwrap(created.json["id"] as? String)
        XCTAssertEqual(id, id.lowercased())

        XCTAssertEqual(try api(h, "GET", "/runs/\(id)", token: h.tokenA).json["id"] as? String, id)
        let paused = try api(h, "POST", "/runs/\(id)/pause", token: h.tokenA, body: "")
        XCTAssertEqual(paused.status, 409, "a pending run cannot be paused")
        XCTAssertEqual((paused.json["error"] as? [String: Any])?["code"] as? String, "invalid_transition")
        XCTAssertEqual(try api(h, "POST", "/runs/\(id)/cancel", token: h.tokenA, body: "").json["status"] as? String, "cancelled")

        let list = try api(h, "GET", "/runs?status=cancelled&limit=10", token: h.tokenA)
        XCTAssertEqual((list.json["items"] as? [[String: Any]])?.count, 1)
        XCTAssertEqual(try api(h, "GET", "/runs?limit=0", token: h.tokenA).status, 422)
        XCTAssertEqual(try api(h, "POST", "/runs", token: h.tokenA, body: "{nope").status, 400)
        XCTAssertEqual(try api(h, "POST", "/runs", token: h.tokenA, body: "{\"category_ids\":[]}").status, 422)
        XCTAssertEqual(try api(h, "POST", "/runs", token: h.tokenA, body: "{\"category_ids\":[\"mars\"]}").status, 422)
        let settings = try api(h, "PUT", "/settings", token: h.tokenA,
                               body: "{\"budget_cap_cents\":100,\"soft_warning_percent\":80,\"max_concurrent_runs\":2}")
        XCTAssertEqual(settings.status, 200)
        let over = try api(h, "POST", "/runs", token: h.tokenA, body: "{\"category_ids\":[\"books\"]}")
        XCTAssertEqual(over.status, 400)
        XCTAssertEqual((over.json["error"] as? [String: Any])?["code"] as? String, "over_budget")
        let bad = try api(h, "PUT", "/settings", token: h.tokenA, body: "{\"budget_cap_cents\":\"lots\",\"soft_warning_percent\":180,\"max_concurrent_runs\":2}")
        XCTAssertEqual(bad.status, 422)
        let fields = ((bad.json["error"] as? [String: Any])?["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
        XCTAssertEqual(fields, ["budget_cap_cents"])
        XCTAssertEqual(try api(h, "GET", "/nope", token: h.tokenA).status, 404)
        XCTAssertEqual(try api(h, "DELETE", "/runs", token: h.tokenA).status, 405)
        XCTAssertEqual(try api(h, "GET", "/runs/not-a-uuid", token: h.tokenA).status, 404)
    }

    func testOrgsNeverSeeEachOther() throws {
        let h = try HubHarness()
        let run = try h.makeRun(org: h.orgA)
        try h.commitItems(run: run, count: 3)
        let id = run.uuidString.lowercased()
        for path in ["/runs/\(id)", "/runs/\(id)/items"] {
            let r = try api(h, "GET", path, token: h.tokenB)
            XCTAssertEqual(r.status, 404, path)
            XCTAssertFalse(String(describing: r.json).contains("Product"), path)
        }
        for action in ["pause", "resume", "cancel"] {
            XCTAssertEqual(try api(h, "POST", "/runs/\(id)/\(action)", token: h.tokenB, body: "").status, 404)
        }
        XCTAssertEqual((try api(h, "GET", "/runs", token: h.tokenB).json["items"] as? [Any])?.count, 0)
        XCTAssertEqual((try api(h, "GET", "/runs/\(id)/items", token: h.tokenA).json["items"] as? [Any])?.count, 3)
        XCTAssertEqual(try h.pool.query("SELECT status FROM collection_runs WHERE id = $1", [run]).first?.string("status"), "pending")
    }

    func testSessionCookieLogsInTheBrowser() throws {
        let h = try HubHarness()
        let origin = "Origin: http://127.0.0.1:\(h.port)"
        let r = try XCTUnwrap(http(port: h.port, method: "POST", path: "/api/v1/session", headers: [origin], body: "{\"token\":\"\(h.tokenA)\"}"))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(try XCTUnwrap(http(port: h.port, method: "POST", path: "/api/v1/session", headers: [origin], body: "{\"token\":\"x\"}")).status, 401)
        let session = try XCTUnwrap(HTTPProbe(port: h.port).send("POST", "/api/v1/session", headers: [("Origin", "http://127.0.0.1:\(h.port)"), ("Content-Type", "application/json")],
                                                                body: "{\"token\":\"\(h.tokenA)\"}").cookie("chub_session"))
        let cookie = "Cookie: chub_session=\(session)"
        XCTAssertEqual(try XCTUnwrap(http(port: h.port, method: "GET", path: "/api/v1/runs", headers: [cookie])).status, 200)
        let ws = try h.connect(headers: [("Cookie", "chub_session=\(session)")])
        XCTAssertTrue(EventCollector(ws).read { !$0.messages(ofType: "hello").isEmpty })
    }
}
