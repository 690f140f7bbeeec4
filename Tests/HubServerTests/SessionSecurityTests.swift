import Foundation
import HubClient
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// Issue 12 finding 4: opaque server-side sessions, and cookie requests that a page on
/// another port or host (cookies ignore ports) cannot make on the user's behalf.
final class SessionSecurityTests: XCTestCase {
    private func own(_ h: HubHarness) -> String { "http://127.0.0.1:\(h.port)" }
    /// Another port of the same host: same site for SameSite, a different origin.
    private func otherPort(_ h: HubHarness) -> String { "http://127.0.0.1:\(h.port == 65535 ? 1 : h.port + 1)" }

    /// Logs in as the dashboard does; returns the answer.
    private func login(_ h: HubHarness, token: String, origin: String?, port: Int? = nil) throws -> HTTPProbe.Answer {
        var headers = [("Content-Type", "application/json")]
        if let origin { headers.append(("Origin", origin)) }
        return try HTTPProbe(port: port ?? h.port).send("POST", "/api/v1/session", headers: headers, body: "{\"token\":\"\(token)\"}")
    }

    private func sessionCookie(_ h: HubHarness) throws -> String {
        let answer = try login(h, token: h.tokenA, origin: own(h))
        XCTAssertEqual(answer.status, 200, answer.body)
        return try XCTUnwrap(answer.cookie("chub_session"))
    }

    private func runStatus(_ h: HubHarness, _ run: UUID) throws -> String? {
        try h.pool.query("SELECT status FROM collection_runs WHERE id = $1", [run]).first?.string("status")
    }

    func testSessionCookieIsAnOpaqueIdStoredHashedNotTheToken() throws {
        let h = try HubHarness()
        let answer = try login(h, token: h.tokenA, origin: own(h))
        XCTAssertEqual(answer.status, 200, answer.body)
        XCTAssertEqual(answer.headers["cache-control"], "no-store")
        XCTAssertEqual(answer.headers["x-content-type-options"], "nosniff")
        let cookie = try XCTUnwrap(answer.cookie("chub_session"))
        XCTAssertNotEqual(cookie, h.tokenA)
        XCTAssertFalse(cookie.contains(h.tokenA.dropFirst(5)), "the cookie carries the token")
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM sessions WHERE session_hash = $1",
                                        [PostgresBytes(SHA256.hash(Array(cookie.utf8)))]).first?.int("n"), 1)
        let probe = HTTPProbe(port: h.port)
        XCTAssertEqual(try probe.send("GET", "/api/v1/runs", headers: [("Cookie", "chub_session=\(cookie)")]).status, 200)
        // The raw token is no longer a cookie.
        XCTAssertEqual(try probe.send("GET", "/api/v1/runs", headers: [("Cookie", "chub_session=\(h.tokenA)")]).status, 401)
        let who = try probe.send("GET", "/api/v1/session", headers: [("Cookie", "chub_session=\(cookie)")])
        XCTAssertEqual(who.json["authenticated"] as? Bool, true)
        XCTAssertEqual(who.headers["cache-control"], "no-store")
        let ws = EventCollector(try h.connect(headers: [("Cookie", "chub_session=\(cookie)")]))
        XCTAssertTrue(ws.read { !$0.messages(ofType: "hello").isEmpty })
    }

    func testLogoutEndsTheSessionHereAndOnEveryHub() throws {
        let h = try HubHarness { $0.credentialCheckInterval = .seconds(3600) }
        let cookie = try sessionCookie(h)
        let second = try HubHarness.startHub(conninfo: h.conninfo, pool: h.pool, publicDir: h.publicDir, port: 0, tune: { _ in })
        defer { second.stop() }
        let here = HTTPProbe(port: h.port), there = HTTPProbe(port: second.boundPort)
        let jar = ("Cookie", "chub_session=\(cookie)")
        let thereHost = ("Host", "127.0.0.1:\(second.boundPort)")
        XCTAssertTrue(waitUntil { (try? there.send("GET", "/api/v1/runs", headers: [jar, thereHost]).status) == 200 },
                      "the second hub never learned of the session")
        let ws = EventCollector(try h.connect(headers: [jar]))
        XCTAssertTrue(ws.read { !$0.messages(ofType: "hello").isEmpty })

        let out = try here.send("DELETE", "/api/v1/session", headers: [jar, ("Origin", own(h))])
        XCTAssertEqual(out.status, 200, out.body)
        XCTAssertEqual(out.cookie("chub_session"), "")
        XCTAssertEqual(try here.send("GET", "/api/v1/runs", headers: [jar]).status, 401, "the old cookie still answers after logout")
        XCTAssertEqual(try here.send("GET", "/api/v1/session", headers: [jar]).json["authenticated"] as? Bool, false)
        XCTAssertEqual(ws.client.waitForClose(timeout: .seconds(10)), 4401, "a logged-out session kept its stream")
        XCTAssertTrue(waitUntil { (try? there.send("GET", "/api/v1/runs", headers: [jar, thereHost]).status) == 401 },
                      "another hub still honours the ended session")
        XCTAssertThrowsError(try h.connect(headers: [jar])) { XCTAssertEqual(($0 as? WebSocketClientError)?.httpStatus, 401) }
    }

    func testCrossOriginCookieRequestsAreRefusedAndChangeNothing() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let cookie = try sessionCookie(h)
        let probe = HTTPProbe(port: h.port)
        let jar = ("Cookie", "chub_session=\(cookie)")
        let runsBefore = try h.pool.query("SELECT count(*) AS n FROM collection_runs").first?.int("n")

        // What a page on another port sends: a simple (unpreflighted) text/plain fetch with credentials.
        let cancel = try probe.send("POST", "/api/v1/runs/\(run.uuidString.lowercased())/cancel",
                                    headers: [jar, ("Origin", otherPort(h)), ("Content-Type", "text/plain")], body: "x")
        XCTAssertEqual(cancel.status, 403, cancel.body)
        XCTAssertEqual(cancel.errorCode, "origin_not_allowed")
        let create = try probe.send("POST", "/api/v1/runs", headers: [jar, ("Origin", otherPort(h)), ("Content-Type", "text/plain")],
                                    body: "{\"category_ids\":[\"beauty\"],\"name\":\"Evil\"}")
        XCTAssertEqual(create.status, 403, create.body)
        // A form post (no Origin is sent by some older browsers) or a stripped Origin.
        let bare = try probe.send("POST", "/api/v1/runs/\(run.uuidString.lowercased())/cancel", headers: [jar])
        XCTAssertEqual(bare.status, 403, bare.body)
        XCTAssertEqual(bare.errorCode, "origin_required")
        XCTAssertEqual(try probe.send("POST", "/api/v1/runs/\(run.uuidString.lowercased())/cancel",
                                      headers: [jar, ("Origin", "null")]).status, 403)
        XCTAssertEqual(try runStatus(h, run), "pending", "a cross-origin request changed the run")
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM collection_runs").first?.int("n"), runsBefore)

        // The hub's own pages still work, by Origin or by Sec-Fetch-Site.
        let ownCreate = try probe.send("POST", "/api/v1/runs", headers: [jar, ("Origin", own(h)), ("Content-Type", "application/json")],
                                       body: "{\"category_ids\":[\"beauty\"],\"name\":\"Mine\"}")
        XCTAssertEqual(ownCreate.status, 201, ownCreate.body)
        XCTAssertEqual(ownCreate.headers["x-content-type-options"], "nosniff")
        let ownCancel = try probe.send("POST", "/api/v1/runs/\(run.uuidString.lowercased())/cancel",
                                       headers: [jar, ("Sec-Fetch-Site", "same-origin")])
        XCTAssertEqual(ownCancel.status, 200, ownCancel.body)
        XCTAssertEqual(try runStatus(h, run), "cancelled")
    }

    func testBearerRequestsNeedNoOriginButJSONBodiesNeedJSONContentType() throws {
        let h = try HubHarness()
        let probe = HTTPProbe(port: h.port)
        let bearer = ("Authorization", "Bearer \(h.tokenA)")
        let before = try h.pool.query("SELECT count(*) AS n FROM collection_runs").first?.int("n")
        let plain = try probe.send("POST", "/api/v1/runs", headers: [bearer, ("Content-Type", "text/plain")],
                                   body: "{\"category_ids\":[\"beauty\"],\"name\":\"Plain\"}")
        XCTAssertEqual(plain.status, 415, plain.body)
        XCTAssertEqual(plain.errorCode, "unsupported_media_type")
        XCTAssertEqual(try probe.send("POST", "/api/v1/runs", headers: [bearer],
                                      body: "{\"category_ids\":[\"beauty\"],\"name\":\"Untyped\"}").status, 415)
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM collection_runs").first?.int("n"), before, "a 415 created a run")
        let json = try probe.send("POST", "/api/v1/runs", headers: [bearer, ("Content-Type", "application/json; charset=utf-8")],
                                  body: "{\"category_ids\":[\"beauty\"],\"name\":\"Typed\"}")
        XCTAssertEqual(json.status, 201, json.body)
        // No Origin, no body: curl's `-X POST` on a control endpoint.
        let id = try XCTUnwrap(json.json["id"] as? String)
        XCTAssertEqual(try probe.send("POST", "/api/v1/runs/\(id)/cancel", headers: [bearer]).status, 200)
    }

    func testLoginFromAForeignOriginIsRefused() throws {
        let h = try HubHarness()
        for origin in [otherPort(h), "http://evil.example", nil] {
            let answer = try login(h, token: h.tokenA, origin: origin)
            XCTAssertEqual(answer.status, 403, "login from \(origin ?? "no origin"): \(answer.body)")
            XCTAssertNil(answer.cookie("chub_session"), "a foreign page set the session cookie")
        }
        XCTAssertEqual(try h.pool.query("SELECT count(*) AS n FROM sessions").first?.int("n"), 0)
        let plain = try HTTPProbe(port: h.port).send("POST", "/api/v1/session", headers: [("Origin", own(h)), ("Content-Type", "text/plain")],
                                                     body: "{\"token\":\"\(h.tokenA)\"}")
        XCTAssertEqual(plain.status, 415, plain.body)
        XCTAssertEqual(try login(h, token: "chub_nope", origin: own(h)).status, 401)
    }

    func testCookieRequestsForAnotherHostAreRefused() throws {
        let h = try HubHarness()
        let cookie = try sessionCookie(h)
        let probe = HTTPProbe(port: h.port)
        let rebound = ("Host", "evil.example:\(h.port)")
        let jar = ("Cookie", "chub_session=\(cookie)")
        let read = try probe.send("GET", "/api/v1/runs", headers: [jar, rebound])
        XCTAssertEqual(read.status, 421, read.body)
        XCTAssertEqual(try probe.send("POST", "/api/v1/runs", headers: [jar, rebound, ("Origin", "http://evil.example:\(h.port)"),
                                                                         ("Content-Type", "application/json")],
                                      body: "{\"category_ids\":[\"beauty\"]}").status, 421)
        XCTAssertEqual(try login(h, token: h.tokenA, origin: "http://evil.example:\(h.port)", port: nil).status, 403)
        let upgrade = try probe.send("GET", "/ws", headers: [jar, rebound, ("Origin", "http://evil.example:\(h.port)"),
                                                             ("Connection", "Upgrade"), ("Upgrade", "websocket"),
                                                             ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                                             ("Sec-WebSocket-Protocol", "collection-hub.v1")])
        XCTAssertTrue([403, 421].contains(upgrade.status), "upgrade for a foreign Host answered \(upgrade.status)")
        // Bearer requests name no cookie and are not bound to a host name.
        XCTAssertEqual(try probe.send("GET", "/api/v1/runs", headers: [("Authorization", "Bearer \(h.tokenA)"), rebound]).status, 200)
        // localhost is one of the hub's own names.
        XCTAssertEqual(try probe.send("GET", "/api/v1/runs", headers: [jar, ("Host", "localhost:\(h.port)")]).status, 200)
    }
}
