import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// Credentials, permissions, unknown paths and wrong methods, across every REST route.
final class RESTAuthTests: XCTestCase {
    /// Every route with a request the route would accept from an admin of org A.
    func everyRoute(_ h: HubHarness, run: UUID) -> [(method: String, path: String, body: String?)] {
        let id = run.uuidString.lowercased()
        return [
            ("GET", "/settings", nil),
            ("PUT", "/settings", #"{"budget_cap_cents":1000,"soft_warning_percent":50,"max_concurrent_runs":1}"#),
            ("GET", "/categories", nil),
            ("POST", "/estimate", #"{"category_ids":["beauty"]}"#),
            ("POST", "/runs", #"{"category_ids":["beauty"]}"#),
            ("GET", "/runs", nil),
            ("GET", "/runs/\(id)", nil),
            ("POST", "/runs/\(id)/pause", ""),
            ("POST", "/runs/\(id)/resume", ""),
            ("POST", "/runs/\(id)/cancel", ""),
            ("GET", "/runs/\(id)/items", nil),
            ("GET", "/sellers", nil),
            ("GET", "/status", nil),
        ]
    }

    func testEveryRouteAnswers401WithoutValidCredentials() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let revoked = try h.makeToken(name: "gone", permissions: [Permission.adminAutomation])
        XCTAssertTrue(try TokenRepository(pool: h.pool).tokenRevoke(orgID: h.orgA, tokenID: revoked.0.id))
        // The hub hears of the revocation by NOTIFY, a moment after the commit.
        XCTAssertTrue(waitUntil { (try? h.rest("GET", "/status", token: revoked.1).status) == 401 }, "the revocation never arrived")
        let attempts: [(String, [String])] = [
            ("no credentials", []),
            ("unknown token", ["Authorization: Bearer chub_0000"]),
            ("revoked token", ["Authorization: Bearer \(revoked.1)"]),
            // A valid token under another scheme is not a bearer token.
            ("basic scheme", ["Authorization: Basic \(h.tokenA)"]),
            ("empty bearer", ["Authorization: Bearer "]),
            // An Authorization header wins over the cookie, even when it is unusable.
            ("bad header beats cookie", ["Authorization: Token x", "Cookie: chub_session=\(h.tokenA)"]),
            // With the hub's own Origin: without one, an unsafe cookie request is refused
            // (403 origin_required) before its credential is even looked at.
            ("unknown cookie", ["Cookie: chub_session=chub_nope", "Origin: http://127.0.0.1:\(h.port)"]),
            ("a token as the cookie", ["Cookie: chub_session=\(h.tokenA)", "Origin: http://127.0.0.1:\(h.port)"]),
            ("cookie of another name", ["Cookie: session=\(h.tokenA)"]),
        ]
        for route in everyRoute(h, run: run) {
            for (label, headers) in attempts {
                let r = try h.rest(route.method, route.path, token: nil, body: route.body, headers: headers)
                assertError(r, 401, "unauthorized", "\(label): \(route.method) \(route.path)")
            }
        }
        // Nothing an unauthenticated request asked for happened.
        XCTAssertEqual(try h.scalar("SELECT status AS v FROM collection_runs WHERE id = $1", [run]), "pending")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_runs"), "1")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_settings"), "0")
    }

    /// collection.view reads the badge and the run objects (what its org topic shows), nothing else.
    func testViewerIsForbiddenEverywhereButStatusAndRuns() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let readable = ["/status", "/runs", "/runs/\(run.uuidString)", "/runs/\(run.uuidString.lowercased())"]
        for route in everyRoute(h, run: run) where route.method == "GET" && readable.contains(route.path) {
            XCTAssertEqual(try h.rest(route.method, route.path, token: h.viewerA).status, 200, route.path)
        }
        for route in everyRoute(h, run: run) where !(route.method == "GET" && readable.contains(route.path)) {
            let r = try h.rest(route.method, route.path, token: h.viewerA, body: route.body)
            assertError(r, 403, "forbidden", "\(route.method) \(route.path)")
        }
        XCTAssertEqual(try h.rest("GET", "/status", token: h.viewerA).status, 200)
        XCTAssertEqual(try h.scalar("SELECT status AS v FROM collection_runs WHERE id = $1", [run]), "pending")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM collection_runs"), "1")
        XCTAssertEqual(try h.scalar("SELECT count(*)::text AS v FROM activity_logs"), "0")
    }

    func testTokenWithoutPermissionsIsForbiddenEvenTheBadge() throws {
        let h = try HubHarness()
        let bare = try h.makeToken(name: "bare", permissions: []).1
        assertError(try h.rest("GET", "/status", token: bare), 403, "forbidden")
        assertError(try h.rest("GET", "/runs", token: bare), 403, "forbidden")
    }

    /// A session cookie for `token`, from a login as the dashboard makes it.
    private func session(_ h: HubHarness, token: String) throws -> String {
        let answer = try HTTPProbe(port: h.port).send("POST", "/api/v1/session",
                                                       headers: [("Content-Type", "application/json"), ("Origin", "http://127.0.0.1:\(h.port)")],
                                                       body: "{\"token\":\"\(token)\"}")
        XCTAssertEqual(answer.status, 200, answer.body)
        return try XCTUnwrap(answer.cookie("chub_session"))
    }

    func testCookieCarriesTheSameRights() throws {
        let h = try HubHarness()
        _ = try h.makeRun()
        // Other cookies around ours, with the spacing browsers send.
        let cookie = "Cookie: theme=dark; chub_session=\(try session(h, token: h.tokenA)); other=1"
        let runs = try h.rest("GET", "/runs", token: nil, headers: [cookie])
        XCTAssertEqual(runs.status, 200, runs.text)
        XCTAssertEqual(runs.items.count, 1)
        let viewer = "Cookie: chub_session=\(try session(h, token: h.viewerA))"
        assertError(try h.rest("GET", "/sellers", token: nil, headers: [viewer]), 403, "forbidden")
        XCTAssertEqual(try h.rest("GET", "/runs", token: nil, headers: [viewer]).status, 200, "view reads runs, by cookie too")
        XCTAssertEqual(try h.rest("GET", "/status", token: nil, headers: [viewer]).status, 200)
    }

    func testUnknownPathsAre404() throws {
        let h = try HubHarness()
        let id = try h.makeRun().uuidString.lowercased()
        for path in ["/nope", "/runs/\(id)/items/extra", "/runs/\(id)/pause/now", "/status/extra", "/sellers/x/y/z",
                     "/settings/extra", "/categories/beauty", "/runs/\(id)/frobnicate", "/estimate/x"] {
            assertError(try h.rest("GET", path, token: h.tokenA), 404, "not_found", path)
        }
        // Below /api but outside /api/v1: refused before any credential is looked at.
        for path in ["/api", "/api/", "/api/v2/runs", "/api/runs"] {
            let r = try XCTUnwrap(http(port: h.port, method: "GET", path: path))
            XCTAssertEqual(r.status, 404, path)
            XCTAssertTrue(r.body.contains("\"not_found\""), "\(path): \(r.body)")
        }
        let missing = UUID().uuidString.lowercased()
        for path in ["/runs/\(missing)", "/runs/\(missing)/items", "/runs/not-a-uuid", "/runs/not-a-uuid/items"] {
            let r = try h.rest("GET", path, token: h.tokenA)
            assertError(r, 404, "not_found", path)
            XCTAssertEqual(r.error?["message"] as? String, "no such run", path)
        }
    }

    func testWrongMethodsOnKnownPathsAre405() throws {
        let h = try HubHarness()
        let id = try h.makeRun().uuidString.lowercased()
        let wrong: [(String, String)] = [
            ("POST", "/settings"), ("DELETE", "/settings"),
            ("POST", "/categories"), ("PUT", "/categories"),
            ("GET", "/estimate"), ("PUT", "/estimate"),
            ("DELETE", "/runs"), ("PUT", "/runs"),
            ("DELETE", "/runs/\(id)"), ("PUT", "/runs/\(id)"), ("POST", "/runs/\(id)"),
            ("GET", "/runs/\(id)/pause"), ("GET", "/runs/\(id)/resume"), ("DELETE", "/runs/\(id)/cancel"),
            ("POST", "/runs/\(id)/items"),
            ("POST", "/sellers"),
            ("POST", "/status"), ("DELETE", "/status"),
            ("OPTIONS", "/runs"), ("PATCH", "/settings"), ("OPTIONS", "/runs/\(id)/items"),
        ]
        for (method, path) in wrong {
            assertError(try h.rest(method, path, token: h.tokenA, body: ["GET", "DELETE", "OPTIONS"].contains(method) ? nil : "{}"),
                        405, "method_not_allowed", "\(method) \(path)")
        }
        XCTAssertEqual(try h.scalar("SELECT status AS v FROM collection_runs"), "pending")
        // Static files are read-only.
        let post = try XCTUnwrap(http(port: h.port, method: "POST", path: "/index.html", body: "x"))
        XCTAssertEqual(post.status, 405)
        XCTAssertTrue(post.body.contains("\"method_not_allowed\""), post.body)
        let missing = try XCTUnwrap(http(port: h.port, method: "GET", path: "/no-such-file.html"))
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.body.contains("\"not_found\""), missing.body)
    }

    /// Light on purpose: the session design is being reworked, so only statuses and the
    /// who-am-I body are pinned, not the cookie itself.
    func testSessionLoginWhoAmIAndLogout() throws {
        let h = try HubHarness()
        func session(_ method: String, body: String? = nil, headers: [String] = []) throws -> (status: Int, json: [String: Any]) {
            // The dashboard's own origin, as a browser sends it on POST and DELETE.
            let r = try XCTUnwrap(http(port: h.port, method: method, path: "/api/v1/session",
                                       headers: headers + ["Origin: http://127.0.0.1:\(h.port)"], body: body))
            return (r.status, (try? JSONSerialization.jsonObject(with: Data(r.body.utf8))) as? [String: Any] ?? [:])
        }
        XCTAssertEqual(try session("POST", body: "{\"token\":\"\(h.tokenA)\"}").status, 200)
        for bad in ["{}", "{\"token\":\"\"}", "{\"token\":5}", "not json", "[]"] {
            let r = try session("POST", body: bad)
            XCTAssertEqual(r.status, 400, bad)
            XCTAssertEqual((r.json["error"] as? [String: Any])?["code"] as? String, "bad_request", bad)
        }
        let unknown = try session("POST", body: "{\"token\":\"chub_unknown\"}")
        XCTAssertEqual(unknown.status, 401)
        XCTAssertEqual((unknown.json["error"] as? [String: Any])?["code"] as? String, "unauthorized")

        let anonymous = try session("GET")
        XCTAssertEqual(anonymous.status, 200)
        XCTAssertEqual(anonymous.json["authenticated"] as? Bool, false)
        let me = try session("GET", headers: ["Authorization: Bearer \(h.viewerA)"])
        XCTAssertEqual(me.status, 200)
        XCTAssertEqual(me.json["authenticated"] as? Bool, true)
        XCTAssertEqual(me.json["org_id"] as? String, h.orgA.uuidString.lowercased())
        XCTAssertEqual(me.json["user_id"] as? String, h.userA.uuidString.lowercased())
        XCTAssertEqual(me.json["permissions"] as? [String], ["collection.view"])
        XCTAssertEqual(try session("GET", headers: ["Authorization: Bearer chub_unknown"]).json["authenticated"] as? Bool, false)

        XCTAssertEqual(try session("DELETE").status, 200)
        for method in ["PUT", "PATCH"] {
            let r = try session(method, body: "{}")
            XCTAssertEqual(r.status, 405, method)
            XCTAssertEqual((r.json["error"] as? [String: Any])?["code"] as? String, "method_not_allowed", method)
        }
    }
}
