import Foundation
@testable import HubServer
import HubClient
import HubTestSupport
import XCTest

final class TransportHTTPTests: XCTestCase {
    private var root: URL!
    private var outside: URL!

    override func setUpWithError() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("chub-static-\(UUID().uuidString)")
        root = base.appendingPathComponent("public")
        outside = base.appendingPathComponent("secret.txt")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("assets"), withIntermediateDirectories: true)
        try Data("<!doctype html><title>hub</title>".utf8).write(to: root.appendingPathComponent("index.html"))
        try Data("console.log('hi')".utf8).write(to: root.appendingPathComponent("assets/app.js"))
        try Data("body{}".utf8).write(to: root.appendingPathComponent("assets/app.css"))
        try Data("{\"a\":1}".utf8).write(to: root.appendingPathComponent("data.json"))
        try Data("top secret".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("leak.txt").path,
                                                   withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("updir").path,
                                                   withDestinationPath: base.path)
        try Data("dot".utf8).write(to: root.appendingPathComponent(".env"))
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: root.deletingLastPathComponent())
    }

    private func staticLoop() throws -> HubLoop {
        let files = StaticFileResponder(files: StaticFiles(root: root), extraHeaders: [("X-Test", "1")])
        return try makeLoop(http: ClosureHTTPHandler { request, responder in
            if !files.respond(to: request, with: responder) {
                responder.respondError(status: 404, code: "not_found", message: "no such file")
            }
        })
    }

    func testStaticFileHasContentTypeAndCachePolicy() throws {
        let loop = try staticLoop()
        defer { loop.stop() }
        let js = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /assets/app.js HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(js.status, 200)
        XCTAssertEqual(js.text, "console.log('hi')")
        XCTAssertEqual(js.header("content-type"), "text/javascript; charset=utf-8")
        XCTAssertEqual(js.header("cache-control"), "public, max-age=3600")
        XCTAssertEqual(js.header("x-test"), "1")
        XCTAssertNil(js.header("server"), "lws's default Server header must not be added")

        let index = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(index.status, 200)
        XCTAssertEqual(index.header("content-type"), "text/html; charset=utf-8")
        XCTAssertEqual(index.header("cache-control"), "no-cache")

        let spa = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /admin/automation HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(spa.status, 200)
        XCTAssertTrue(spa.text.contains("<title>hub</title>"))

        let missing = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /assets/nope.js HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(missing.header("content-type"), "application/json")

        let head = try XCTUnwrap(rawRequest(port: loop.boundPort, "HEAD /data.json HTTP/1.1\r\nHost: x\r\n\r\n", head: true))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("content-length"), "7")
        XCTAssertEqual(head.header("content-type"), "application/json")
    }

    func testTraversalAndSymlinkEscapesAreRefused() throws {
        let loop = try staticLoop()
        defer { loop.stop() }
        for path in ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/%2E%2E/%2e%2e/secret.txt", "/..%2fsecret.txt",
                     "/leak.txt", "/updir/secret.txt", "/.env", "/assets/..\\..\\secret.txt"] {
            let response = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"),
                                         "no response for \(path)")
            XCTAssertTrue([403, 404].contains(response.status), "\(path) → \(response.status)")
            XCTAssertFalse(response.text.contains("top secret"), path)
        }
    }

    func testStaticFilesResolverRejectsEscapes() throws {
        let files = StaticFiles(root: root)
        XCTAssertEqual(files.resolve(path: "/assets/app.js")?.contentType, "text/javascript; charset=utf-8")
        XCTAssertEqual(files.resolve(path: "/assets/app.css?v=3")?.contentType, "text/css; charset=utf-8")
        XCTAssertEqual(files.resolve(path: "/")?.contentType, "text/html; charset=utf-8")
        XCTAssertEqual(files.resolve(path: "/assets/")?.isFallback, true)
        XCTAssertEqual(files.resolve(path: "/admin/automation")?.isFallback, true)
        XCTAssertNil(files.resolve(path: "/missing.png"))
        for bad in ["/../secret.txt", "/%2e%2e/secret.txt", "/%2E%2e%2fsecret.txt", "/assets/%2f..%2f..%2fsecret.txt",
                    "/a%00b", "/a\\..\\secret.txt", "/leak.txt", "/updir/secret.txt", "/.env", "/%zz", "/./index.html"] {
            XCTAssertNil(files.resolve(path: bad), bad)
        }
        XCTAssertNil(files.resolve(decodedPath: "/../secret.txt"))
        XCTAssertNil(files.resolve(decodedPath: "/updir/secret.txt"))
        XCTAssertNotNil(files.resolve(decodedPath: "/data.json"))
        XCTAssertNil(StaticFiles(root: root.appendingPathComponent("nope")).resolve(path: "/"))
    }

    func testPostBodyEchoedByResponderOnAnotherThread() throws {
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            let body = request.body
            let type = request.header("Content-Type") ?? "?"
            let query = request.queryValue("x") ?? "-"
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) {
                responder.respond(status: 201, headers: [("Content-Type", "application/octet-stream"),
                                                         ("X-Seen-Type", type), ("X-Query", query)], body: body)
            }
        })
        defer { loop.stop() }
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        connection.send("POST /echo?x=a%20b HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: \(payload.count)\r\n\r\n")
        connection.send(payload)
        let response = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(response.status, 201)
        XCTAssertEqual(response.body, payload)
        XCTAssertEqual(response.header("x-seen-type"), "text/plain")
        XCTAssertEqual(response.header("x-query"), "a b")

        // PUT and DELETE go through the same path.
        connection.send("PUT /thing HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        XCTAssertEqual(connection.readResponse()?.text, "abc")
        connection.send("DELETE /thing HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.status, 201)
        connection.send("PATCH /thing HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        XCTAssertEqual(connection.readResponse()?.text, "{}")
        connection.send("OPTIONS /thing HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.status, 201)
        connection.send("POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        let empty = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(empty.status, 201)
        XCTAssertEqual(empty.body, [])
    }

    func testOversizedBodyGets413JSONAndConnectionStaysUsable() throws {
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            responder.respond(status: 200, body: Array("got \(request.body.count)".utf8))
        })
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        let big = [UInt8](repeating: 0x61, count: (1 << 20) + 1)
        connection.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(big.count)\r\n\r\n")
        connection.send(big)
        let response = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.header("content-type"), "application/json")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        let error = try XCTUnwrap(json["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "payload_too_large")
        XCTAssertNotNil(error["message"] as? String)

        // Exactly the limit is fine, on the same keep-alive connection.
        let ok = [UInt8](repeating: 0x62, count: 1 << 20)
        connection.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: \(ok.count)\r\n\r\n")
        connection.send(ok)
        XCTAssertEqual(connection.readResponse()?.text, "got \(1 << 20)")
    }

    func testAbsurdContentLengthGets413WithoutReadingTheBody() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        connection.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc")
        let response = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(response.status, 413)
        XCTAssertEqual(response.header("connection"), "close")
        XCTAssertTrue(response.text.contains("payload_too_large"))
    }

    func testKeepAliveServesSecondRequestOnSameConnection() throws {
        let count = Recorder(0)
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            count.update { $0 += 1 }
            if request.path == "/none" { return responder.respond(status: 204, body: Array("dropped".utf8)) }
            responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: Array(request.path.utf8))
        })
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        connection.send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.text, "/one")
        connection.send("GET /two HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.text, "/two")
        // Pipelined pair.
        connection.send("GET /three HTTP/1.1\r\nHost: x\r\n\r\nGET /four HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.text, "/three")
        XCTAssertEqual(connection.readResponse()?.text, "/four")
        // 204: no body, no Content-Length, connection stays usable.
        connection.send("GET /none HTTP/1.1\r\nHost: x\r\n\r\n")
        let none = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(none.status, 204)
        XCTAssertNil(none.header("content-length"))
        connection.send("GET /five HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.text, "/five")
        XCTAssertEqual(count.value, 6)
    }

    func testLargeResponseBodyIsComplete() throws {
        let big = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
        let loop = try makeLoop(http: ClosureHTTPHandler { _, responder in
            responder.respond(status: 200, body: big)
        })
        defer { loop.stop() }
        let response = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(response.body.count, big.count)
        XCTAssertEqual(response.body, big)
    }

    func testLateResponseAfterClientDisconnectIsIgnored() throws {
        let held = Recorder<HTTPResponder?>(nil)
        // While a response is deferred, lws does not read the socket, so a client that left
        // is noticed when the handler timeout kills the connection. Before: that timeout was
        // the default 30 s, the same as the wait below, and the test passed or failed by
        // milliseconds.
        let loop = try makeLoop(http: ClosureHTTPHandler { _, responder in held.update { $0 = responder } }) {
            $0.httpHandlerTimeoutSeconds = 2
        }
        defer { loop.stop() }
        do {
            let connection = try RawHTTPConnection(port: loop.boundPort)
            connection.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertTrue(held.wait { $0 != nil })
        }  // connection closed here
        let late = try XCTUnwrap(held.value)
        XCTAssertTrue(waitUntil { onLoop(loop) { late.isAbandoned } == true }, "the loop never saw the client go")
        XCTAssertFalse(late.isCompleted)
        late.respond(status: 200, body: Array("late".utf8))
        XCTAssertTrue(late.isCompleted)
        late.respond(status: 500)  // second call ignored
        held.update { $0 = nil }
        let again = try RawHTTPConnection(port: loop.boundPort)
        // Connection: close, so the answer ends at EOF rather than at a read timeout.
        again.send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(held.wait { $0 != nil })
        held.value?.respond(status: 204)
        XCTAssertEqual(again.readResponse()?.status, 204)
    }

    func testSlowHandlerIsNotCutOffByLwsContentTimeout() throws {
        // lws arms a content timeout (ioTimeoutSeconds) before LWS_CALLBACK_HTTP; the
        // transport replaces it with httpHandlerTimeoutSeconds while the handler works.
        let loop = try makeLoop(http: ClosureHTTPHandler { _, responder in
            DispatchQueue.global().asyncAfter(deadline: .now() + 2.2) {
                responder.respond(status: 200, body: Array("slow".utf8))
            }
        }) {
            $0.ioTimeoutSeconds = 1
            $0.httpHandlerTimeoutSeconds = 10
        }
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort, timeout: 30)
        connection.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.text, "slow")
    }

    func testNoConnectionStateLeaksAfterStop() throws {
        let baseline = Connection.liveCount
        let held = Recorder<[HTTPResponder]>([])
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            if request.path == "/hold" { held.update { $0.append(responder) } } else { responder.respond(status: 200) }
        })
        for _ in 0..<5 {
            let connection = try RawHTTPConnection(port: loop.boundPort)
            connection.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
            XCTAssertEqual(connection.readResponse()?.status, 200)
        }
        let holding = try RawHTTPConnection(port: loop.boundPort)
        holding.send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertTrue(held.wait { $0.count == 1 })
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        client.send("x")
        XCTAssertNotNil(client.receive())
        loop.stop()
        XCTAssertEqual(Connection.liveCount, baseline)
        held.value.first?.respond(status: 200)  // after stop: dropped quietly
        held.update { $0.removeAll() }
    }

    func testDroppedResponderAnswers500() throws {
        let loop = try makeLoop(http: ClosureHTTPHandler { _, _ in /* never responds */ })
        defer { loop.stop() }
        let response = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"))
        XCTAssertEqual(response.status, 500)
    }

    func testHeadersAreCapturedLowercased() throws {
        let seen = Recorder<HTTPRequest?>(nil)
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            seen.update { $0 = request }
            responder.respond(status: 204)
        }) { $0.extraRequestHeaders = ["x-request-id"] }
        defer { loop.stop() }
        let response = try rawRequest(port: loop.boundPort,
            "GET /h?a=1&b=two HTTP/1.1\r\nHost: example\r\nAuthorization: Bearer abc\r\nCookie: s=1\r\nOrigin: http://o\r\nX-Request-Id: r-9\r\n\r\n")
        XCTAssertEqual(response?.status, 204)
        let request = try XCTUnwrap(seen.value)
        XCTAssertEqual(request.method, .GET)
        XCTAssertEqual(request.path, "/h")
        XCTAssertEqual(request.query, "a=1&b=two")
        XCTAssertEqual(request.queryValue("b"), "two")
        XCTAssertEqual(request.header("authorization"), "Bearer abc")
        XCTAssertEqual(request.header("Cookie"), "s=1")
        XCTAssertEqual(request.header("origin"), "http://o")
        XCTAssertEqual(request.header("host"), "example")
        XCTAssertEqual(request.header("x-request-id"), "r-9")
        XCTAssertEqual(request.peerAddress, "127.0.0.1")
    }

    func testMissingContentLengthOnPostGets411() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        connection.send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        XCTAssertEqual(connection.readResponse()?.status, 411)
        XCTAssertTrue(connection.sawEOF())
    }

    /// RFC 9112 §6.3: a POST with neither Content-Length nor Transfer-Encoding has an empty
    /// body (what `curl -X POST` sends); it is answered, then the connection closes.
    func testPostWithoutLengthIsAnEmptyBody() throws {
        let seen = Recorder<HTTPRequest?>(nil)
        let loop = try makeLoop(http: ClosureHTTPHandler { request, responder in
            seen.update { $0 = request }
            responder.respond(status: 200, headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        })
        defer { loop.stop() }
        let connection = try RawHTTPConnection(port: loop.boundPort)
        connection.send("POST /runs/x/pause HTTP/1.1\r\nHost: x\r\n\r\n")
        let response = try XCTUnwrap(connection.readResponse())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.text, "{}")
        XCTAssertEqual(response.header("connection")?.lowercased(), "close")
        XCTAssertTrue(connection.sawEOF())
        let request = try XCTUnwrap(seen.value)
        XCTAssertEqual(request.method, .POST)
        XCTAssertEqual(request.body, [])
    }
}
