import Foundation
import HubServer
import HubTestSupport
import XCTest

/// Issue 13 item 4: one error body and escaped wire messages, seen from a client over
/// real sockets.
final class ErrorShapeTests: XCTestCase {
    /// The transport (413), static files (404, 405), the router (401), the session endpoint
    /// (400), the API (400, 404, 422) and the WebSocket upgrade (401) each refuse with
    /// {"error":{"code":…,"message":…[,"fields":[{"field":…,"message":…}]]}} and nothing else.
    func testEveryLayerRefusesWithTheSameBody() throws {
        let h = try HubHarness()
        let auth = ["Authorization: Bearer \(h.tokenA)"]
        func answer(_ method: String, _ path: String, headers: [String] = [], body: String? = nil) throws -> (Int, String) {
            let r = try XCTUnwrap(http(port: h.port, method: method, path: path, headers: headers, body: body), "\(method) \(path)")
            return (r.status, r.body)
        }
        var refusals: [(context: String, status: Int, body: String)] = []
        func add(_ context: String, _ answer: (Int, String)) { refusals.append((context, answer.0, answer.1)) }
        add("transport: body over the cap", try answer("POST", "/api/v1/runs", headers: auth, body: String(repeating: "x", count: 1_100_000)))
        add("static: no such file", try answer("GET", "/no-such-file.txt"))
        add("static: wrong method", try answer("DELETE", "/index.html"))
        add("router: no credentials", try answer("GET", "/api/v1/runs"))
        add("session: not a login body", try answer("POST", "/api/v1/session", headers: ["Origin: http://127.0.0.1:\(h.port)"], body: "[1]"))
        add("api: no such endpoint", try answer("GET", "/api/v1/nothing", headers: auth))
        add("api: not JSON", try answer("POST", "/api/v1/runs", headers: auth, body: "{"))
        add("api: bad fields", try answer("PUT", "/api/v1/settings", headers: auth, body: #"{"budget_cap_cents":"x\"\n"}"#))
        add("api: bad query", try answer("GET", "/api/v1/runs?limit=0", headers: auth))
        let raw = try RawHTTPConnection(port: h.port)
        raw.send("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(h.port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: collection-hub.v1\r\n\r\n")
        let upgrade = try XCTUnwrap(raw.readResponse())
        refusals.append(("websocket upgrade without credentials", upgrade.status, upgrade.text))

        XCTAssertEqual(refusals.map(\.status), [413, 404, 405, 401, 400, 404, 400, 422, 422, 401], "\(refusals.map(\.context))")
        for refusal in refusals {
            let context = "\(refusal.context): \(refusal.body)"
            let top = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(refusal.body.utf8)) as? [String: Any], context)
            XCTAssertEqual(Array(top.keys), ["error"], context)
            let error = try XCTUnwrap(top["error"] as? [String: Any], context)
            XCTAssertNotNil(error["code"] as? String, context)
            XCTAssertNotNil(error["message"] as? String, context)
            XCTAssertTrue(Set(error.keys).isSubset(of: ["code", "message", "fields"]), context)
            if let fields = error["fields"] {
                let list = try XCTUnwrap(fields as? [[String: Any]], context)
                XCTAssertFalse(list.isEmpty, context)
                for field in list {
                    XCTAssertEqual(Set(field.keys), ["field", "message"], context)
                }
            }
        }
        XCTAssertEqual(refusals.filter { $0.status == 422 }.count, 2)
    }

    /// A topic full of quotes, backslashes, control and line-separator characters is echoed
    /// in the error frame exactly as sent.
    func testAwkwardTopicComesBackExactlyInTheErrorFrame() throws {
        let h = try HubHarness()
        let c = EventCollector(try h.connect(token: h.tokenA))
        let awkward = "run:\"}\\\n\t\u{0}\u{1B}\u{7F}\u{2028}\u{2029}é🎉"
        let message = try JSONSerialization.data(withJSONObject: ["type": "subscribe", "topic": awkward])
        c.client.send(String(decoding: message, as: UTF8.self))
        c.client.send(#"{"type":"ping","id":"\"}\u2028"}"#)
        XCTAssertTrue(c.read { !$0.messages(ofType: "error").isEmpty && !$0.messages(ofType: "pong").isEmpty })
        let error = try XCTUnwrap(c.messages(ofType: "error").first)
        XCTAssertEqual(error["code"] as? String, "bad_topic")
        XCTAssertEqual(error["topic"] as? String, awkward)
        XCTAssertEqual(c.messages(ofType: "pong").first?["id"] as? String, "\"}\u{2028}")
        let hello = try XCTUnwrap(c.messages(ofType: "hello").first)
        XCTAssertEqual(hello["org"] as? String, h.orgA.uuidString.lowercased(), "ids are lower-case on the wire")
    }
}
