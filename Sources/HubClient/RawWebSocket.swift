import Foundation

/// A WebSocket client on a bare POSIX socket, for what a well-behaved library will not do:
/// stop reading, vanish without a close frame, send malformed or oversized frames.
public final class RawWebSocket {
    public let fd: Int32
    public private(set) var handshakeStatus = 0
    /// Received bytes not yet parsed into whole frames, and a text message's fragments so far.
    private var pending: [UInt8] = []
    private var fragments: [UInt8] = []

    /// Connects and performs the opening handshake; `receiveBuffer` shrinks SO_RCVBUF.
    public init(port: Int, headers: [String], receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw POSIXError(.ECONNREFUSED) }
        let request = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        writeAll(Array(request.utf8))
        // Read the response head byte by byte so no frame bytes are swallowed.
        var head = [UInt8]()
        var byte: UInt8 = 0
        while !head.suffix(4).elementsEqual([13, 10, 13, 10]) {
            guard recv(fd, &byte, 1, 0) == 1 else { break }
            head.append(byte)
        }
        handshakeStatus = Int(String(decoding: head, as: UTF8.self).split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    deinit { close(fd) }

    /// Sends one masked frame with `opcode` (1 text, 2 binary) and FIN as given.
    public func sendFrame(_ payload: [UInt8], opcode: UInt8 = 1, fin: Bool = true) {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count < 65536 {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for i in (0..<8).reversed() { frame.append(UInt8((payload.count >> (i * 8)) & 0xFF)) }
        }
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 % 4] }
        writeAll(frame)
    }

    public func sendText(_ text: String) { sendFrame(Array(text.utf8)) }

    /// Reads frames until a close frame or EOF; returns the close code if one came.
    public func readUntilClose(timeout: TimeInterval = 30) -> UInt16? {
        readTexts(timeout: timeout, idle: timeout).closeCode
    }

    /// Reads text frames until none arrives for `idle` (or `timeout` passes); stops at a
    /// close frame, reporting its code.
    public func readTexts(timeout: TimeInterval = 20, idle: TimeInterval = 1) -> (texts: [String], closeCode: UInt16?) {
        var texts = [String]()
        let close = read(timeout: timeout, idle: idle) { texts.append($0); return false }
        return (texts, close)
    }

    /// Reads text frames until one satisfies `isLast` (true), a close frame or `timeout`
    /// (false); what follows that frame stays buffered for the next read. Lets a client
    /// wait for its subscription's snapshot and then stop reading, with nothing lost.
    public func readUntil(timeout: TimeInterval = 30, _ isLast: (String) -> Bool) -> (texts: [String], found: Bool, closeCode: UInt16?) {
        var texts = [String](), found = false
        let close = read(timeout: timeout, idle: timeout) { text in
            texts.append(text)
            found = isLast(text)
            return found
        }
        return (texts, found, close)
    }

    /// Reads until `onText` returns true, a close frame (its code), EOF, `idle` seconds
    /// without data or `timeout`.
    private func read(timeout: TimeInterval, idle: TimeInterval, _ onText: (String) -> Bool) -> UInt16? {
        var tv = timeval(tv_sec: Int(idle), tv_usec: Int((idle - Double(Int(idle))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let deadline = Date().addingTimeInterval(timeout)
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            while let frame = nextFrame() {
                if frame.opcode == 8 {
                    let p = frame.payload
                    return p.count >= 2 ? UInt16(p[p.startIndex]) << 8 | UInt16(p[p.startIndex + 1]) : 1005
                }
                if frame.opcode == 1 || frame.opcode == 0 {
                    fragments += frame.payload
                    if frame.fin {
                        let text = String(decoding: fragments, as: UTF8.self)
                        fragments = []
                        if onText(text) { return nil }
                    }
                }
            }
            guard Date() < deadline else { return nil }
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { return nil }
            pending += chunk[0..<n]
        }
    }

    /// Takes one whole frame off the front of `pending`, nil while it is incomplete.
    private func nextFrame() -> (fin: Bool, opcode: UInt8, payload: ArraySlice<UInt8>)? {
        let b = pending
        guard b.count >= 2 else { return nil }
        let fin = b[0] & 0x80 != 0, opcode = b[0] & 0x0F
        var len = Int(b[1] & 0x7F), start = 2
        if len == 126 {
            guard b.count >= 4 else { return nil }
            len = Int(b[2]) << 8 | Int(b[3]); start = 4
        } else if len == 127 {
            guard b.count >= 10 else { return nil }
            len = (0..<8).reduce(0) { $0 << 8 | Int(b[2 + $1]) }; start = 10
        }
        guard len >= 0, start + len <= b.count else { return nil }
        let payload = b[start..<(start + len)]
        pending.removeFirst(start + len)
        return (fin, opcode, payload)
    }

    /// Drops the connection with no close frame (RST), as a crashed client would.
    public func vanish() {
        var lingering = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lingering, socklen_t(MemoryLayout<linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func writeAll(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}
