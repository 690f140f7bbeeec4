import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 (ephemeral port) for provider tests: one thread
/// accepts, one thread per connection answers a canned reply by path and records the request.
/// Every wait is bounded: accept polls every 50 ms, sockets have 2 s send/receive timeouts,
/// a hanging reply is held at most 5 s or until `stop()`, and `stop()` waits at most 2 s.
final class TestHTTPServer: @unchecked Sendable {
    struct Reply {
        var status = 200
        var headers: [String] = []
        var body = Data("{}".utf8)
        /// Never answer (the client must time out); released by `stop()`.
        var hang = false
        /// Read the request, then reset the connection (RST) without answering.
        var reset = false
        /// Send no Content-Length: the body ends when the connection closes.
        var omitLength = false

        init(status: Int = 200, headers: [String] = [], body: String = "{}", hang: Bool = false, reset: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = Data(body.utf8)
            self.hang = hang
            self.reset = reset
        }

        init(status: Int = 200, bytes: Data, omitLength: Bool = false) {
            self.status = status
            self.body = bytes
            self.omitLength = omitLength
        }
    }

    struct Request {
        let method: String
        /// The request target as sent: path and query, still percent-encoded.
        let target: String
        /// Header names lowercased.
        let headers: [String: String]
        var path: String { String(target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var routes: [String: Reply] = [:]
    private var recorded: [Request] = []
    private var clients: Set<Int32> = []
    private var stopped = false
    private let release = DispatchSemaphore(value: 0)
    private let acceptExited = DispatchSemaphore(value: 0)

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0, listen(fd, 32) == 0,
              withUnsafeMutablePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }) == 0
        else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Requests for exactly `target` (path and query, as sent) or, failing that, for its path
    /// get `reply`; anything else gets 404 `{}`.
    func route(_ target: String, _ reply: Reply) { lock.withLock { routes[target] = reply } }

    var requests: [Request] { lock.withLock { recorded } }

    /// Stops accepting, releases hanging replies, closes every connection. Idempotent.
    func stop() {
        let first: Bool = lock.withLock {
            defer { stopped = true }
            for c in clients { shutdown(c, Int32(SHUT_RDWR)) }
            return !stopped
        }
        guard first else { return }
        release.signal()
        _ = acceptExited.wait(timeout: .now() + 2)
        close(listener)
        // Connection threads notice the shutdown at once; give them a bounded moment.
        let deadline = Date().addingTimeInterval(2)
        while Date() < deadline, !lock.withLock({ clients.isEmpty }) { Thread.sleep(forTimeInterval: 0.01) }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    private func acceptLoop() {
        defer { acceptExited.signal() }
        while !isStopped {
            var p = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) > 0 else { continue }
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            let admitted: Bool = lock.withLock {
                guard !stopped else { return false }
                clients.insert(client)
                return true
            }
            guard admitted else { close(client); continue }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        defer {
            lock.withLock { _ = clients.remove(client) }
            close(client)
        }
        var head = [UInt8]()
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard head.count < 64 * 1024, recv(client, &byte, 1, 0) == 1 else { return }
            head.append(byte)
        }
        let lines = String(decoding: head, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3 else { return }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let request = Request(method: String(parts[0]), target: String(parts[1]), headers: headers)
        let reply: Reply = lock.withLock {
            recorded.append(request)
            return routes[request.target] ?? routes[request.path] ?? Reply(status: 404)
        }
        if reply.hang {
            if release.wait(timeout: .now() + 5) == .success { release.signal() }  // wake the other hangs too
            return
        }
        if reply.reset {
            var lg = linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &lg, socklen_t(MemoryLayout<linger>.size))
            return
        }
        var text = "HTTP/1.1 \(reply.status) Canned\r\nContent-Type: application/json\r\nConnection: close\r\n"
        if !reply.omitLength { text += "Content-Length: \(reply.body.count)\r\n" }
        text += reply.headers.map { $0 + "\r\n" }.joined() + "\r\n"
        var bytes = Data(text.utf8)
        bytes.append(reply.body)
        bytes.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = send(client, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                sent += n
            }
        }
    }
}
