import Foundation
import HubClient
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// Issue 12, finding 3 (unauthenticated bodies eat memory) and the connection caps of
/// finding 5: bodies are only read after authentication, a whole request has one
/// deadline, unfinished bodies share one byte cap, and connections are capped per address
/// and per token.
final class HubRequestLimitsTests: XCTestCase {
    /// The head of a POST whose 1 MiB body is started but never finished.
    private func unfinishedPost(_ path: String, port: Int, auth: String? = nil, declared: Int = 1 << 20,
                                sent: Int = 100) throws -> RawHTTPConnection {
        let c = try RawHTTPConnection(port: port, timeout: 10)
        var head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n"
        if let auth { head += "Authorization: Bearer \(auth)\r\n" }
        c.send(head + "\r\n")
        c.send([UInt8](repeating: 0x20, count: sent))
        return c
    }

    /// The server closed: EOF, or a reset because it did not read the rest of the body.
    private func closedByServer(_ c: RawHTTPConnection) -> Bool {
        var byte: UInt8 = 0
        let n = recv(c.fd, &byte, 1, 0)
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    func testUnauthenticatedUnfinishedBodiesAreAnsweredWithoutBeingRead() throws {
        let h = try HubHarness { $0.maxHeldRequestBytes = 1 << 20 }
        // Login endpoint: over its own small cap → 413 at once; other API routes without
        // (or with a wrong) token → 401 at once. None of them finishes its body.
        var sockets: [(RawHTTPConnection, Int)] = []
        for i in 0..<60 {
            switch i % 3 {
            case 0: sockets.append((try unfinishedPost("/api/v1/session", port: h.port), 413))
            case 1: sockets.append((try unfinishedPost("/api/v1/runs", port: h.port), 401))
            default: sockets.append((try unfinishedPost("/api/v1/runs", port: h.port, auth: "not-a-token"), 401))
            }
        }
        for (socket, expected) in sockets {
            let response = try XCTUnwrap(socket.readResponse(), "no answer before the body was complete")
            XCTAssertEqual(response.status, expected, response.text)
            XCTAssertTrue(response.text.hasPrefix("{\"error\":{"), response.text)
            XCTAssertEqual(response.header("connection")?.lowercased(), "close")
            XCTAssertTrue(closedByServer(socket), "the connection stays open after refusing its body")
        }
        XCTAssertEqual(try metric("hub_http_held_request_bytes", port: h.port), 0)
        // Only what lws read together with the headers was ever held.
        XCTAssertLessThanOrEqual(try XCTUnwrap(metric("hub_http_held_request_bytes_peak", port: h.port)), 1 << 20)
        // The login endpoint still works with a small body.
        let login = try XCTUnwrap(http(port: h.port, method: "POST", path: "/api/v1/session", headers: ["Origin: http://127.0.0.1:\(h.port)"],
                                        body: "{\"token\":\"\(h.tokenA)\"}"))
        XCTAssertEqual(login.status, 200, login.body)
    }

    func testUnfinishedBodiesShareOneByteCap() throws {
        let cap = 1 << 20
        let h = try HubHarness { $0.maxHeldRequestBytes = cap }
        // An authenticated client holds 700 KB of an unfinished 1,000,000-byte body…
        let holder = try unfinishedPost("/api/v1/runs", port: h.port, auth: h.tokenA, declared: 1_000_000, sent: 0)
        holder.send([UInt8](repeating: 0x20, count: 700_000))
        XCTAssertTrue(waitUntil(timeout: 20) { ((try? metric("hub_http_held_request_bytes", port: h.port)) ?? 0) >= 700_000 })
        // …so another 1,000,000-byte body does not fit: 503 with Retry-After, not buffered.
        let second = try unfinishedPost("/api/v1/runs", port: h.port, auth: h.tokenA, declared: 1_000_000, sent: 0)
        let refused = try XCTUnwrap(second.readResponse())
        XCTAssertEqual(refused.status, 503, refused.text)
        XCTAssertEqual(refused.header("retry-after"), "1")
        XCTAssertTrue(refused.text.contains("\"server_busy\""), refused.text)
        XCTAssertLessThanOrEqual(try XCTUnwrap(metric("hub_http_held_request_bytes_peak", port: h.port)), cap)
        XCTAssertEqual(try metric("hub_http_refused_capacity_total", port: h.port), 1)
        // The holder finishes: its request is served (400: the body is not JSON) and the bytes are released.
        holder.send([UInt8](repeating: 0x20, count: 300_000))
        let served = try XCTUnwrap(holder.readResponse())
        XCTAssertTrue((400..<500).contains(served.status), "\(served.status) \(served.text)")
        XCTAssertEqual(try metric("hub_http_held_request_bytes", port: h.port), 0)
    }

    func testADribblingRequestIsCutOffAtItsDeadline() throws {
        let h = try HubHarness { $0.requestDeadlineSeconds = 1 }
        // Body: headers complete, 10 of 100 bytes, then nothing more → 408 and close.
        let body = try unfinishedPost("/api/v1/runs", port: h.port, auth: h.tokenA, declared: 100, sent: 10)
        let response = try XCTUnwrap(body.readResponse(), "no 408 within the socket timeout")
        XCTAssertEqual(response.status, 408, response.text)
        XCTAssertTrue(response.text.contains("\"request_timeout\""), response.text)
        XCTAssertTrue(closedByServer(body))
        // Headers: never completed → 408 as well (the acceptor answers), and close.
        let headers = try RawHTTPConnection(port: h.port, timeout: 10)
        headers.send("POST /api/v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let cut = try XCTUnwrap(headers.readResponse(), "a connection that never finishes its headers gets no answer")
        XCTAssertEqual(cut.status, 408, cut.text)
        XCTAssertTrue(cut.text.contains("\"request_timeout\""), cut.text)
        XCTAssertTrue(closedByServer(headers), "a connection that never finishes its headers stays open")
        // Both cut-offs are counted: the body's 408 and the headers' 408.
        XCTAssertEqual(try metric("hub_http_request_deadline_expired_total", port: h.port), 2)
    }

    func testPerAddressCapRefusesTheNextConnection() throws {
        let h = try HubHarness { $0.maxConnectionsPerAddress = 3 }
        let held = try (0..<3).map { _ -> RawHTTPConnection in
            let c = try RawHTTPConnection(port: h.port)
            c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            XCTAssertEqual(c.readResponse()?.status, 200)
            return c
        }
        let refused = try XCTUnwrap(rawRequest(port: h.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
        XCTAssertEqual(refused.status, 429)
        XCTAssertTrue(refused.text.contains("\"too_many_connections\""), refused.text)
        let upgrade = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
        XCTAssertEqual(upgrade.handshakeStatus, 429)
        // A slot comes back when a connection closes.
        shutdown(held[0].fd, Int32(SHUT_RDWR))
        XCTAssertTrue(waitUntil { (try? rawRequest(port: h.port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))?.status == 200 })
        withExtendedLifetime(held) {}
    }

    func testPerTokenWebSocketCapRefusesTheNextUpgrade() throws {
        let h = try HubHarness { $0.maxWebSocketsPerToken = 2 }
        let open = try (0..<2).map { _ -> EventCollector in
            let c = EventCollector(try h.connect(token: h.tokenA))
            XCTAssertTrue(c.read { !$0.messages(ofType: "hello").isEmpty })
            return c
        }
        let third = try RawWebSocket(port: h.port, headers: ["Authorization: Bearer \(h.tokenA)"])
        XCTAssertEqual(third.handshakeStatus, 429)
        // Another token is not affected.
        let other = EventCollector(try h.connect(token: h.tokenB))
        XCTAssertTrue(other.read { !$0.messages(ofType: "hello").isEmpty })
        withExtendedLifetime(open) {}
    }
}
