import Foundation
@testable import HubServer
import HubClient
import XCTest

final class TransportWebSocketTests: XCTestCase {
    func testEchoWithSubprotocolAndHeaders() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(
            port: loop.boundPort, path: "/ws?token=t1",
            headers: [("Authorization", "Bearer xyz"), ("Cookie", "sid=42"), ("Origin", "http://localhost:5173")],
            subprotocol: "collection-hub.v1")
        defer { client.close() }
        client.send("hello")
        XCTAssertEqual(client.receiveString(), "hello")
        let request = try XCTUnwrap(handler.upgradeRequests.value.first)
        XCTAssertEqual(request.header("authorization"), "Bearer xyz")
        XCTAssertEqual(request.header("cookie"), "sid=42")
        XCTAssertEqual(request.header("origin"), "http://localhost:5173")
        XCTAssertEqual(request.requestedSubprotocols, "collection-hub.v1")
        XCTAssertEqual(request.queryValue("token"), "t1")
        let captured = onLoop(loop) { () -> [String?] in
            guard let s = handler.sessions.values.first else { return [] }
            return [s.authorization, s.cookie, s.origin, s.path]
        }
        XCTAssertEqual(captured ?? [], ["Bearer xyz", "sid=42", "http://localhost:5173", "/ws"])
    }

    func testClientWithoutSubprotocolLandsOnOurProtocol() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort, path: "/ws", subprotocol: nil)
        defer { client.close() }
        XCTAssertNil(handler.upgradeRequests.value.first?.requestedSubprotocols)
        client.send("plain")
        XCTAssertEqual(client.receiveString(), "plain")
    }

    func testUnknownSubprotocolAndWrongPathAreRefused() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: loop.boundPort, path: "/ws", subprotocol: "nope.v9")) { error in
            XCTAssertEqual((error as? WebSocketClientError)?.httpStatus, 400)
        }
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: loop.boundPort, path: "/ws",
                                                               subprotocol: HubLoop.rawProtocolName)) { error in
            XCTAssertEqual((error as? WebSocketClientError)?.httpStatus, 400)
        }
        // Several offers: ours is picked even when not first.
        let multi = try SimpleWebSocketClient.connect(port: loop.boundPort, path: "/ws",
                                                      subprotocol: "other.v2, collection-hub.v1")
        multi.send("x")
        XCTAssertEqual(multi.receiveString(), "x")
        multi.close()
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: loop.boundPort, path: "/other")) { error in
            XCTAssertEqual((error as? WebSocketClientError)?.httpStatus, 404)
        }
        XCTAssertEqual(handler.opened.value.count, 1)
    }

    func testRawHandshakeWithoutSubprotocolLikeWebsocat() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let raw = try RawHTTPConnection(port: loop.boundPort)
        raw.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let response = try XCTUnwrap(raw.readResponse())
        XCTAssertEqual(response.status, 101)
        XCTAssertEqual(response.header("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        XCTAssertNil(response.header("sec-websocket-protocol"))
        // A masked text frame "hi" comes back unmasked.
        raw.send([0x81, 0x82, 1, 2, 3, 4, UInt8(ascii: "h") ^ 1, UInt8(ascii: "i") ^ 2])
        XCTAssertEqual(raw.readBytes(4), [0x81, 0x02, UInt8(ascii: "h"), UInt8(ascii: "i")])
    }

    func testIdlePeerIsPingedAndDroppedWhenSilent() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler) {
            // The polite client has the gap between the two (4 s) to answer a ping: far more
            // than a busy machine needs, and the silent peer's drop is waited for, not timed.
            $0.wsPingIntervalSeconds = 1
            $0.wsHangupSeconds = 5
        }
        defer { loop.stop() }
        // Our client answers pings automatically: it survives the hangup deadline.
        let polite = try SimpleWebSocketClient.connect(port: loop.boundPort)
        // A raw peer that never answers.
        let raw = try RawHTTPConnection(port: loop.boundPort, timeout: 30)
        raw.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        XCTAssertEqual(raw.readResponse()?.status, 101)
        let ping = raw.readBytes(2)
        XCTAssertEqual(ping?.first, 0x89, "expected a PING frame")
        if let length = ping?.last, length > 0 { _ = raw.readBytes(Int(length)) }
        XCTAssertTrue(handler.closed.wait(timeout: 60) { $0.count == 1 }, "silent peer should be dropped")
        XCTAssertTrue(raw.sawEOF())
        polite.send("still here")
        XCTAssertEqual(polite.receiveString(), "still here")
        polite.close()
    }

    func testRejectionIsAnHTTP401BeforeUpgrade() throws {
        let handler = TestWebSocketHandler()
        handler.decide = { request in
            request.header("authorization") == "Bearer good"
                ? .accept()
                : .rejectJSON(status: 401, code: "unauthorized", message: "missing or bad token")
        }
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        XCTAssertThrowsError(try SimpleWebSocketClient.connect(port: loop.boundPort, headers: [("Authorization", "Bearer bad")])) { error in
            XCTAssertEqual((error as? WebSocketClientError)?.httpStatus, 401, "\(error)")
        }
        // What a raw client sees: a real HTTP response with a JSON body, no 101.
        let raw = try RawHTTPConnection(port: loop.boundPort)
        raw.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        let response = try XCTUnwrap(raw.readResponse())
        XCTAssertEqual(response.status, 401)
        XCTAssertEqual(response.version, "HTTP/1.1", "the docs promise HTTP/1.1")
        XCTAssertEqual(response.header("content-type"), "application/json")
        XCTAssertEqual(response.header("content-length"), String(response.body.count))
        XCTAssertEqual(response.header("connection")?.lowercased(), "close")
        XCTAssertTrue(response.text.contains("\"unauthorized\""), response.text)
        XCTAssertTrue(raw.sawEOF(), "a refused upgrade closes the connection")
        XCTAssertEqual(handler.opened.value, [])

        let ok = try SimpleWebSocketClient.connect(port: loop.boundPort, headers: [("Authorization", "Bearer good")])
        ok.send("in")
        XCTAssertEqual(ok.receiveString(), "in")
        ok.close()
    }

    func testFragmentedMessageIsReassembled() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        defer { client.close() }
        let euro = Array("€".utf8)  // split a multi-byte character across frames
        client.sendFragmentedText([Array("part-1 ".utf8) + [euro[0]], Array(euro[1...]) + Array(" part-2".utf8), Array(" end".utf8)])
        XCTAssertEqual(client.receiveString(), "part-1 € part-2 end")
        // A message bigger than the per-connection rx buffer arrives in pieces too.
        let long = String(repeating: "abcdefghij", count: 5_000)
        client.send(long)
        XCTAssertEqual(client.receiveString(), long)
        XCTAssertEqual(handler.received.value.count, 2)
    }

    func testOversizedMessageClosesWith1009() throws {
        let loop = try makeLoop { $0.maxIncomingMessageBytes = 1000 }
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        client.send(String(repeating: "x", count: 1001))
        XCTAssertEqual(client.waitForClose(), 1009)

        let fragmented = try SimpleWebSocketClient.connect(port: loop.boundPort)
        fragmented.sendFragmentedText([[UInt8](repeating: 0x41, count: 600), [UInt8](repeating: 0x42, count: 600)])
        XCTAssertEqual(fragmented.waitForClose(), 1009)
    }

    func testBinaryClosesWith1003AndBadUTF8With1007() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let binary = try SimpleWebSocketClient.connect(port: loop.boundPort)
        binary.sendBinary([1, 2, 3])
        XCTAssertEqual(binary.waitForClose(), 1003)

        let invalid = try SimpleWebSocketClient.connect(port: loop.boundPort)
        invalid.sendText([0x61, 0xC3, 0x28])
        XCTAssertEqual(invalid.waitForClose(), 1007)
    }

    func testThousandMessagesArriveInOrder() throws {
        let loop = try makeLoop()
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        defer { client.close() }
        for i in 0..<1000 { client.send("m\(i)") }
        for i in 0..<1000 {
            guard let text = client.receiveString() else { return XCTFail("missing message \(i)") }
            XCTAssertEqual(text, "m\(i)")
        }
    }

    func testSameSharedFrameReachesTwoHundredClientsIdentically() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let clientLoop = WebSocketClientLoop()
        defer { clientLoop.stop() }
        var clients: [SimpleWebSocketClient] = []
        for _ in 0..<200 {
            clients.append(try SimpleWebSocketClient.connect(port: loop.boundPort, loop: clientLoop))
        }
        XCTAssertTrue(handler.opened.wait { $0.count == 200 })
        let payload = Array("{\"type\":\"progress\",\"values\":[".utf8) + Array((0..<5000).map { _ in UInt8(ascii: "7") }) + Array("]}".utf8)
        let sent = onLoop(loop) { () -> Int in
            let frame = SharedFrame(bytes: payload)
            for session in handler.sessions.values { session.send(frame) }
            return handler.sessions.count
        }
        XCTAssertEqual(sent, 200)
        for client in clients {
            XCTAssertEqual(client.receive(), payload)
        }
        for client in clients { client.close() }
        XCTAssertTrue(handler.closed.wait { $0.count == 200 })
    }

    /// The queue path (directWrites off): what an idle socket would otherwise skip.
    func testQueuedJSONArrayFramesAreMerged() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler) { $0.directWrites = false }
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        defer { client.close() }
        XCTAssertTrue(handler.opened.wait { $0.count == 1 })
        _ = onLoop(loop) { () -> Bool in
            let session = handler.sessions.values.first!
            session.send(SharedFrame(text: "[1,2]", mergeableJSONArray: true))
            session.send(SharedFrame(text: "[]", mergeableJSONArray: true))
            session.send(SharedFrame(text: "[{\"a\":3}]", mergeableJSONArray: true))
            session.send(SharedFrame(text: "{\"not\":\"array\"}", mergeableJSONArray: true))
            session.send(SharedFrame(text: "[4]"))  // not marked mergeable
            return true
        }
        XCTAssertEqual(client.receiveString(), "[1,2,{\"a\":3}]")
        XCTAssertEqual(client.receiveString(), "{\"not\":\"array\"}")
        XCTAssertEqual(client.receiveString(), "[4]")
        // Merging respects maxFrameBytes.
        let big = "[" + String(repeating: "1,", count: 100_000) + "1]"
        _ = onLoop(loop) { () -> Bool in
            let session = handler.sessions.values.first!
            for _ in 0..<3 { session.send(SharedFrame(text: big, mergeableJSONArray: true)) }
            return true
        }
        let first = try XCTUnwrap(client.receiveString())
        XCTAssertLessThanOrEqual(first.utf8.count, 256 * 1024)
        var total = first.utf8.count
        while total < 3 * big.utf8.count - 4, let more = client.receiveString() { total += more.utf8.count }
        XCTAssertGreaterThanOrEqual(total, 3 * big.utf8.count - 4)
    }

    func testServerCloseAndQueueAccounting() throws {
        let handler = TestWebSocketHandler()
        handler.onReceive = { session, bytes in
            session.sendText(bytes)
            session.close(code: 4001, reason: "bye")
            session.sendText(Array("ignored".utf8))
        }
        let loop = try makeLoop(websocket: handler)
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        client.send("last words")
        XCTAssertEqual(client.receiveString(), "last words")
        XCTAssertEqual(client.waitForClose(), 4001)
        XCTAssertTrue(handler.closed.wait { $0.count == 1 })
    }

    func testSlowConsumerIsClosedWhenQueueOverflows() throws {
        let handler = TestWebSocketHandler()
        let loop = try makeLoop(websocket: handler) { $0.maxQueuedBytesPerSession = 64 * 1024; $0.directWrites = false }
        defer { loop.stop() }
        let client = try SimpleWebSocketClient.connect(port: loop.boundPort)
        XCTAssertTrue(handler.opened.wait { $0.count == 1 })
        let state = onLoop(loop) { () -> [Int] in
            let session = handler.sessions.values.first!
            let frame = SharedFrame(bytes: [UInt8](repeating: 0x61, count: 40 * 1024))
            session.send(frame)
            let queued = session.queuedBytes
            session.send(frame)  // 80 KiB > 64 KiB: closed
            return [queued, session.isOpen ? 1 : 0]
        }
        XCTAssertEqual(state ?? [], [40 * 1024, 0])
        XCTAssertEqual(client.waitForClose(), 1008)
    }
}
