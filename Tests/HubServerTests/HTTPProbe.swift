import Foundation
import XCTest

/// A raw HTTP/1.0 exchange over loopback where the test writes every header itself (Host,
/// Origin, Content-Type…), the way a browser or an attacker's page would send them.
struct HTTPProbe {
    struct Answer {
        let status: Int
        /// Lowercased names; repeated headers keep the last value except Set-Cookie.
        let headers: [String: String]
        let setCookies: [String]
        let body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        /// The value the answer sets for `name`, if it sets one.
        func cookie(_ name: String) -> String? {
            for line in setCookies {
                let first = line.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
                let kv = first.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.first == name { return kv.count == 2 ? kv[1] : "" }
            }
            return nil
        }
    }

    let port: Int

    /// Whether the answer's head and its Content-Length worth of body have arrived (a
    /// kept-alive connection would otherwise wait for the server to close).
    static func complete(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let end = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<end.lowerBound].lowercased()
        guard let line = head.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("content-length:") }),
              let length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) else { return false }
        return text[end.upperBound...].utf8.count >= length
    }

    /// Sends `method path` with exactly `headers` (Host defaults to 127.0.0.1:port) and
    /// `body`; Content-Length is added (0 without a body, except on GET and HEAD).
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil) throws -> Answer {
        guard let fd = loopbackSocket(port: port) else { throw NSError(domain: "HTTPProbe", code: Int(errno)) }
        defer { close(fd) }
        var lines = ["\(method) \(path) HTTP/1.0"]
        if !headers.contains(where: { $0.0.lowercased() == "host" }) { lines.append("Host: 127.0.0.1:\(port)") }
        lines += headers.map { "\($0.0): \($0.1)" }
        // The transport wants a length on every body-carrying method, even an empty one.
        if let body { lines.append("Content-Length: \(body.utf8.count)") } else if !["GET", "HEAD"].contains(method) { lines.append("Content-Length: 0") }
        let request = lines.joined(separator: "\r\n") + "\r\n\r\n" + (body ?? "")
        _ = request.withCString { Glibc.send(fd, $0, strlen($0), 0) }
        let data = readAnswer(fd, done: Self.complete)
        let text = String(decoding: data, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = Int(head.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
        var headersOut: [String: String] = [:]
        var cookies: [String] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "set-cookie" { cookies.append(value) }
            headersOut[name] = value
        }
        return Answer(status: status, headers: headersOut, setCookies: cookies, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}
