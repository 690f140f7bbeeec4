/// Checks the head of the first HTTP/1 request on a fresh connection (request line,
/// header lines, blank line) while it arrives, before a parser that cannot answer sees it
/// (libwebsockets 4.1 drops the connection without a response on what it refuses). A
/// value: feed it the bytes received so far, it says what to do. Any thread.
public struct RequestHeadGate: Sendable {
    /// What the gate enforces.
    public struct Limits: Sendable {
        /// Largest head, blank line included (bytes).
        public var maxHeadBytes: Int
        /// Most query parameters plus header lines (the parser's fixed fragment table).
        public var maxFields: Int

        /// Limits with the given bounds.
        public init(maxHeadBytes: Int, maxFields: Int) {
            self.maxHeadBytes = maxHeadBytes
            self.maxFields = maxFields
        }
    }

    /// What to do with the connection after the latest bytes.
    public enum Verdict: Equatable, Sendable {
        /// The head is not complete yet: keep reading (at most `maxHeadBytes` in all).
        case needMore
        /// The head is complete and acceptable; it ends after `headLength` bytes (anything
        /// after it belongs to the body or the next request).
        case pass(headLength: Int)
        /// Answer with this status and JSON error, then close.
        case refuse(status: Int, code: String, message: String)
    }

    /// The methods the parser knows (anything else it drops without an answer).
    static let parserMethods: Set<String> = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD"]

    public let limits: Limits
    /// Bytes already searched for the end of the head (a dribbling client is not rescanned).
    private var scanned = 0

    /// A gate for one connection.
    public init(limits: Limits) {
        self.limits = limits
    }

    /// Judges `bytes`, everything received on the connection so far (a prefix of it was
    /// seen by earlier calls).
    public mutating func received(_ bytes: UnsafeRawBufferPointer) -> Verdict {
        guard let end = headEnd(bytes) else {
            if bytes.count >= limits.maxHeadBytes { return tooLarge() }
            return .needMore
        }
        if end > limits.maxHeadBytes { return tooLarge() }
        return judge(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
    }

    /// Convenience for tests and callers holding an array.
    public mutating func received(_ bytes: [UInt8]) -> Verdict {
        bytes.withUnsafeBytes { received($0) }
    }

    /// Index just after the blank line (CRLF CRLF, or bare LFs as the parser also accepts).
    private mutating func headEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var i = max(scanned, 1)
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if bytes[i - 1] == 0x0A { return i + 1 }
                if bytes[i - 1] == 0x0D, i >= 2, bytes[i - 2] == 0x0A { return i + 1 }
            }
            i += 1
        }
        scanned = max(bytes.count, 1)
        return nil
    }

    private func tooLarge() -> Verdict {
        .refuse(status: 431, code: "request_header_fields_too_large",
                message: "the request line and headers exceed \(limits.maxHeadBytes) bytes")
    }

    private static func badRequest(_ message: String) -> Verdict {
        .refuse(status: 400, code: "bad_request", message: message)
    }

    /// The complete head: what the parser would refuse, answered instead.
    private func judge(_ head: UnsafeRawBufferPointer) -> Verdict {
        if head.contains(0) { return Self.badRequest("the request contains a NUL byte") }
        let lineEnd = head.firstIndex(of: 0x0A) ?? head.count
        var line = head[0..<lineEnd]
        if line.last == 0x0D { line = line.dropLast() }
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return Self.badRequest("malformed request line") }
        let method = String(decoding: parts[0], as: UTF8.self)
        guard Self.parserMethods.contains(method) else {
            return .refuse(status: 405, code: "method_not_allowed", message: "method not supported")
        }
        let target = parts[1]
        var queryParts = 0
        var inQuery = false
        var i = target.startIndex
        while i < target.endIndex {
            let byte = target[i]
            if byte == UInt8(ascii: "%") {
                guard target.endIndex - i >= 3, let high = HexDigit.value(target[i + 1]), let low = HexDigit.value(target[i + 2]) else {
                    return Self.badRequest("malformed percent-encoding in the request target")
                }
                if high == 0 && low == 0 { return Self.badRequest("%00 in the request target") }
                i += 3
                continue
            }
            if byte == UInt8(ascii: "?") && !inQuery { inQuery = true; queryParts = 1 }
            if inQuery && (byte == UInt8(ascii: "&") || byte == UInt8(ascii: ";")) { queryParts += 1 }
            i += 1
        }
        // Line feeds after the request line's, less the blank line's.
        let headerLines = max(0, head[lineEnd...].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } - 2)
        if queryParts + headerLines > limits.maxFields {
            return Self.badRequest("too many query parameters and header fields (at most \(limits.maxFields))")
        }
        return .pass(headLength: head.count)
    }
}
