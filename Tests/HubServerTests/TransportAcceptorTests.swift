import Foundation
import HubClient
@testable import HubServer
import HubTestSupport
import XCTest

/// Issue 12, finding 7: the first request head is read by the hub's own acceptor, so what
/// libwebsockets 4.1 would drop without a word gets an answer (431, 400, 405, 408), and
/// everything else still reaches lws intact. Real sockets on 127.0.0.1.
final class TransportAcceptorTests: XCTestCase {
    private func echoLoop(_ configure: (inout HubLoopConfig) -> Void = { _ in }) throws -> HubLoop {
        try makeLoop(http: ClosureHTTPHandler { request, responder in
            responder.respond(status: 200, headers: [("Content-Type", "text/plain")],
                              body: Array("\(request.method.rawValue) \(request.path) \(request.query) \(request.body.count)".utf8))
        }, configure: configure)
    }

    /// Reads one answer, then whether the server closed (EOF or reset).
    private func answerThenClose(_ connection: RawHTTPConnection) -> (RawHTTPResponse?, Bool) {
        let response = connection.readResponse()
        var byte: UInt8 = 0
        let n = recv(connection.fd, &byte, 1, 0)
        return (response, n == 0 || (n < 0 && errno == ECONNRESET))
    }

    func testNineKilobytesOfHeadersAre431JSONAndClose() throws {
        let loop = try echoLoop()
        defer { loop.stop() }
        let c = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
        c.send("GET /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: \(String(repeating: "a", count: 9 * 1024))\r\n\r\n")
        let (response, closed) = answerThenClose(c)
        let answer = try XCTUnwrap(response, "no answer to an oversized head")
        XCTAssertEqual(answer.status, 431)
        XCTAssertEqual(answer.header("content-type"), "application/json")
        XCTAssertTrue(answer.text.hasPrefix("{\"error\":{\"code\":\"request_header_fields_too_large\""), answer.text)
        XCTAssertEqual(answer.header("connection")?.lowercased(), "close")
        XCTAssertTrue(closed)
        // A head just under the limit still goes through.
        let fits = try XCTUnwrap(rawRequest(port: loop.boundPort,
            "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: \(String(repeating: "a", count: 7 * 1024))\r\n\r\n"))
        XCTAssertEqual(fits.status, 200, fits.text)
    }

    func testNulInTheQueryIs400JSON() throws {
        let loop = try echoLoop()
        defer { loop.stop() }
        for target in ["/api/v1/runs?x=%00", "/a%zz", "/a%2"] {
            let c = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
            c.send("GET \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let (response, closed) = answerThenClose(c)
            let answer = try XCTUnwrap(response, "no answer to \(target)")
            XCTAssertEqual(answer.status, 400, target)
            XCTAssertTrue(answer.text.hasPrefix("{\"error\":{\"code\":\"bad_request\""), answer.text)
            XCTAssertTrue(closed, target)
        }
        let unknown = try XCTUnwrap(rawRequest(port: loop.boundPort, "BREW /pot HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        XCTAssertEqual(unknown.status, 405, unknown.text)
        // Escapes that decode to something else are fine, and the query still arrives decoded.
        let fine = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /a%20b?q=%41 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        XCTAssertEqual(fine.text, "GET /a b q=A 0")
    }

    func testAHeadArrivingInPiecesAndABodyBehindItReachTheHandler() throws {
        let loop = try echoLoop()
        defer { loop.stop() }
        let c = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
        c.send("POST /echo?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        // The acceptor has looked at the partial head and is waiting for more.
        XCTAssertTrue(waitUntil { onLoop(loop) { loop.acceptor?.pendingCount } == 1 })
        c.send("Content-Length: 5\r\n\r\nhello")
        let first = try XCTUnwrap(c.readResponse())
        XCTAssertEqual(first.text, "POST /echo x=1 5")
        XCTAssertEqual(onLoop(loop) { loop.acceptor?.pendingCount }, 0)
        // Keep-alive: the next request on the same connection is lws's to parse.
        c.send("GET /again HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(c.readResponse()?.text, "GET /again  0")
    }

    func testSilentAndStalledConnectionsEndAtTheDeadline() throws {
        let loop = try echoLoop { $0.requestDeadlineSeconds = 1 }
        defer { loop.stop() }
        let silent = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
        let stalled = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
        stalled.send("GET / HTTP/1.1\r\nHost")
        // Nothing sent: closed without a word (a browser's spare connection).
        XCTAssertTrue(silent.sawEOF())
        let (response, closed) = answerThenClose(stalled)
        XCTAssertEqual(response?.status, 408)
        XCTAssertTrue(closed)
        XCTAssertTrue(waitUntil { onLoop(loop) { loop.acceptor?.pendingCount } == 0 })
        XCTAssertEqual(onLoop(loop) { loop.transportStats.requestDeadlinesExpired }, 2)
    }

    func testWebSocketUpgradeOfferingPermessageDeflateStillWorks() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let socket = try RawWebSocket(port: loop.boundPort, headers: ["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"])
        XCTAssertEqual(socket.handshakeStatus, 101)
        socket.sendText("ping")
        let (texts, found, _) = socket.readUntil(timeout: 10) { $0 == "ping" }
        XCTAssertTrue(found, "\(texts)")
    }

    func testThePerAddressCapIsAnsweredByTheAcceptor() throws {
        let loop = try echoLoop { $0.maxConnectionsPerAddress = 1 }
        defer { loop.stop() }
        let held = try RawHTTPConnection(port: loop.boundPort, timeout: 10)
        held.send("GET /one HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        XCTAssertEqual(held.readResponse()?.status, 200)
        let refused = try XCTUnwrap(rawRequest(port: loop.boundPort, "GET /two HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        XCTAssertEqual(refused.status, 429)
        XCTAssertEqual(onLoop(loop) { loop.transportStats.connectionsRefusedPerAddress }, 1)
        withExtendedLifetime(held) {}
    }
}
