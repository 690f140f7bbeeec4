import Foundation

/// A message from a WebSocket client (docs/PROTOCOL.md).
public enum ClientMessage: Sendable, Equatable {
    case subscribe(Topic, since: Int64?)
    case unsubscribe(Topic)
    case ping(id: String?)

    /// The largest message a client may send.
    public static let maxBytes = 64 * 1024

    /// Parses one text frame; never traps, whatever the bytes.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(ProtocolError) -> ClientMessage {
        guard bytes.count <= maxBytes else { throw ProtocolError(.tooLarge, "messages are limited to \(maxBytes) bytes") }
        let data = Data(bytes)
        guard String(data: data, encoding: .utf8) != nil else { throw ProtocolError(.badUTF8, "messages must be UTF-8 text") }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw ProtocolError(.badJSON, "message is not valid JSON")
        }
        guard let object = parsed as? [String: Any] else { throw ProtocolError(.notObject, "a message is a JSON object with a \"type\"") }
        guard let type = object["type"] as? String else { throw ProtocolError(.unknownType, "a message needs a string \"type\"") }
        switch type {
        case "subscribe", "unsubscribe":
            guard let text = object["topic"] as? String, let topic = Topic(text) else {
                throw ProtocolError(.badTopic, "topic must be \"org\" or \"run:<uuid>\"")
            }
            if type == "unsubscribe" { return .unsubscribe(topic) }
            var since: Int64?
            if let raw = object["since"], !(raw is NSNull) {
                // JSONSerialization gives NSNumber for both numbers and booleans.
                guard let number = raw as? NSNumber, !isJSONBoolean(number),
                      let value = Int64(exactly: number.doubleValue), value >= 0 else {
                    throw ProtocolError(.badSince, "since must be a non-negative integer sequence number")
                }
                guard case .run = topic else { throw ProtocolError(.badSince, "since applies to run topics only") }
                since = value
            }
            return .subscribe(topic, since: since)
        case "ping":
            var id: String?
            if let raw = object["id"] {
                if let s = raw as? String { id = String(s.prefix(64)) } else if let n = raw as? NSNumber { id = n.stringValue }
            }
            return .ping(id: id)
        default:
            throw ProtocolError(.unknownType, "unknown message type \(type.prefix(40))")
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(ProtocolError) -> ClientMessage {
        let result: Result<ClientMessage, ProtocolError> = bytes.withUnsafeBytes { raw in
            Result { () throws(ProtocolError) -> ClientMessage in try parse(raw) }
        }
        return try result.get()
    }
}

/// A protocol violation, answered with an error frame carrying `code`.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable machine-readable codes (docs/PROTOCOL.md).
    public enum Code: String, Sendable {
        case badJSON = "bad_json"
        case notObject = "not_object"
        case unknownType = "unknown_type"
        case badTopic = "bad_topic"
        case badSince = "bad_since"
        case tooLarge = "too_large"
        case badUTF8 = "bad_utf8"
        case notFound = "not_found"
        case forbidden = "forbidden"
        case tooManySubscriptions = "too_many_subscriptions"
        case rateLimited = "rate_limited"
        case unavailable = "unavailable"
    }

    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { "\(code.rawValue): \(message)" }
}
