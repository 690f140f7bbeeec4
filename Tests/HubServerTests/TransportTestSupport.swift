import Foundation
@testable import HubServer
import XCTest

// Helpers for the transport tests: a thread-safe recorder, closure-based handlers, a raw
// HTTP/1.1 socket client, and a loop factory (127.0.0.1, ephemeral port, started).

/// Thread-safe value box with a condition to wait on.
final class Recorder<T>: @unchecked Sendable {
    private let condition = NSCondition()
    private var storage: T

    init(_ initial: T) { storage = initial }

    var value: T {
        condition.lock(); defer { condition.unlock() }
        return storage
    }

    func update(_ change: (inout T) -> Void) {
        condition.lock()
        change(&storage)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until `predicate` holds (true) or `timeout` passes (false).
    @discardableResult
    func wait(timeout: TimeInterval = 30, until predicate: (T) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while !predicate(storage) {
            if !condition.wait(until: deadline) { return predicate(storage) }
        }
        return true
    }
}

/// A one-shot flag.
final class Latch: @unchecked Sendable {
    private let recorder = Recorder(false)
    func signal() { recorder.update { $0 = true } }
    func wait(_ timeout: TimeInterval = 5) -> Bool { recorder.wait(timeout: timeout) { $0 } }
    var isSignalled: Bool { recorder.value }
}

final class ClosureHTTPHandler: HTTPHandler {
    let body: (HTTPRequest, HTTPResponder) -> Void
    init(_ body: @escaping (HTTPRequest, HTTPResponder) -> Void) { self.body = body }
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) { body(request, responder) }
}

/// WebSocket handler: accepts (or as `decide` says), echoes text by default, records.
final class TestWebSocketHandler: WebSocketHandler, @unchecked Sendable {
    var decide: (UpgradeRequest) -> UpgradeDecision = { _ in .accept() }
    var onReceive: ((WebSocketSession, [UInt8]) -> Void)?
    var onOpen: ((WebSocketSession) -> Void)?
    let opened = Recorder<[UInt64]>([])
    let closed = Recorder<[UInt64]>([])
    let received = Recorder<[[UInt8]]>([])
    let upgradeRequests = Recorder<[UpgradeRequest]>([])
    /// Sessions currently open (loop thread only).
    var sessions: [UInt64: WebSocketSession] = [:]

    func shouldAccept(_ request: UpgradeRequest) -> UpgradeDecision {
        upgradeRequests.update { $0.append(request) }
        return decide(request)
    }

    func didOpen(_ session: WebSocketSession) {
        sessions[session.id] = session
        opened.update { $0.append(session.id) }
        onOpen?(session)
    }

    func didReceive(_ session: WebSocketSession, text: UnsafeRawBufferPointer) {
        let bytes = Array(text)
        received.update { $0.append(bytes) }
        if let onReceive { onReceive(session, bytes) } else { session.sendText(bytes) }
    }

    func didClose(_ session: WebSocketSession) {
        sessions.removeValue(forKey: session.id)
        closed.update { $0.append(session.id) }
    }
}

/// Builds and starts a loop on 127.0.0.1 with an ephemeral port.
func makeLoop(
    http: HTTPHandler = ClosureHTTPHandler { _, r in r.respond(status: 404) },
    websocket: WebSocketHandler = TestWebSocketHandler(),
    configure: (inout HubLoopConfig) -> Void = { _ in }
) throws -> HubLoop {
    var config = HubLoopConfig(host: "127.0.0.1", port: 0)
    config.shutdownGracePeriod = .milliseconds(200)
    configure(&config)
    let loop = try HubLoop(config: config, http: http, websocket: websocket)
    try loop.start()
    return loop
}

/// Runs `body` on the loop thread and waits for it.
func onLoop<T>(_ loop: HubLoop, timeout: TimeInterval = 30, _ body: @escaping () -> T) -> T? {
    let result = Recorder<T?>(nil)
    let work = LoopBoundClosure(body)
    loop.post { let v = work.body(); result.update { $0 = v } }
    result.wait(timeout: timeout) { $0 != nil }
    return result.value
}

final class LoopBoundClosure<T>: @unchecked Sendable {
    let body: () -> T
    init(_ body: @escaping () -> T) { self.body = body }
}

/// Names of this process's threads (Linux /proc).
func threadNames() -> [String] {
    let dir = "/proc/self/task"
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
    return tasks.compactMap { tid in
        (try? String(contentsOfFile: "\(dir)/\(tid)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

// MARK: - Raw HTTP/1.1 over a blocking socket

struct RawHTTPResponse {
    var status: Int
    /// The status line's protocol, e.g. "HTTP/1.1".
    var version = ""
    var headers: [(String, String)]
    var body: [UInt8]
    func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A keep-alive capable HTTP client on a raw socket; every read is bounded by a timeout.
final class RawHTTPConnection {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: Int, timeout: TimeInterval = 30) throws {
        guard let fd = loopbackSocket(port: port, timeout: timeout, sendTimeout: true) else { throw POSIXError(.ECONNREFUSED) }
        self.fd = fd
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads more bytes; false on EOF/timeout/error.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Reads one response (Content-Length delimited; `head: true` for HEAD requests).
    func readResponse(head: Bool = false) -> RawHTTPResponse? {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var headerEnd: Int?
        while headerEnd == nil {
            if let range = buffer.firstRange(of: separator) { headerEnd = range.lowerBound; break }
            if !fill() { return nil }
        }
        let headText = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { return nil }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                    String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
        var response = RawHTTPResponse(status: status, version: String(statusLine[0]), headers: headers, body: [])
        let length = head ? 0 : Int(response.header("content-length") ?? "0") ?? 0
        while buffer.count < length { if !fill() { return nil } }
        response.body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return response
    }

    /// Reads exactly `count` raw bytes (after any buffered ones), nil on EOF/timeout.
    func readBytes(_ count: Int) -> [UInt8]? {
        while buffer.count < count { if !fill() { return nil } }
        let out = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return out
    }

    /// Reads past anything still sent (a second PING, say) until the peer closes: true on
    /// EOF, false on an error or the receive timeout.
    func sawEOF() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return false }
        }
    }
}

/// One request on a fresh connection.
func rawRequest(port: Int, _ request: String, head: Bool = false) throws -> RawHTTPResponse? {
    let connection = try RawHTTPConnection(port: port)
    connection.send(request)
    return connection.readResponse(head: head)
}
