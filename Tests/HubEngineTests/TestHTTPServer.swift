import Foundation

/// A one-thread HTTP/1.1 server on 127.0.0.1 answering canned responses by path, recording
/// each request line and headers. For provider tests only.
final class TestHTTPServer: @unchecked Sendable {
    struct Reply {
        var status: Int = 200
        var headers: [String] = []
        var body: String = "{}"
        /// Never answer (timeouts).
        var hang = false
    }

    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var routes: [(String, Reply)] = []
    private var requests: [(line: String, head: String)] = []
    private var stopped = false

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }) == 0,
              listen(fd, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        port = Int(UInt16(bigEndian: addr.sin_port))
        _ = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Requests whose path starts with `prefix` get `reply` (the longest prefix wins).
    func route(_ prefix: String, _ reply: Reply) { lock.withLock { routes.append((prefix, reply)) } }

    var requestLines: [String] { lock.withLock { requests.map(\.line) } }
    var requestHeads: [String] { lock.withLock { requests.map(\.head) } }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 { return }
            Thread.detachNewThread { [self] in serve(client) }
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var head = [UInt8]()
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard recv(client, &byte, 1, 0) == 1 else { return }
            head.append(byte)
        }
        let text = String(decoding: head, as: UTF8.self)
        let line = String(text.split(separator: "\r\n").first ?? "")
        let path = String(line.split(separator: " ").dropFirst().first ?? "")
        let reply: Reply = lock.withLock {
            requests.append((line, text))
            return routes.filter { path.hasPrefix($0.0) }.max { $0.0.count < $1.0.count }?.1 ?? Reply(status: 404, body: "{}")
        }
        if reply.hang {
            Thread.sleep(forTimeInterval: 3)
            return
        }
        let body = Array(reply.body.utf8)
        let response = "HTTP/1.1 \(reply.status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            + reply.headers.map { $0 + "\r\n" }.joined() + "\r\n"
        let bytes = Array(response.utf8) + body
        _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
