import Foundation

/// A message from a WebSocket client (docs/PROTOCOL.md).
public enum ClientMessage: Sendable, Equatable {
    case subscribe(Topic, since: Int64?)
    case unsubscribe(Topic)
    /// `id` is the scalar the client sent, echoed in the pong with its JSON type.
    case ping(id: PingID?)

    /// The largest message a client may send.
    public static let maxBytes = 64 * 1024
    /// Ping ids are echoed; a bound keeps a client from making the server echo 64 KiB.
    public static let maxPingIDLength = 64
    /// A refused topic is echoed (as sent) in the error frame, cut to this many characters.
    public static let maxTopicEchoLength = 100

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
                // Echo what was sent (bounded) so a client with several requests in flight
                // can tell which one failed, even when the topic is malformed.
                throw ProtocolError(.badTopic, "topic must be \"org\" or \"run:<uuid>\"",
                                    topic: object["topic"].flatMap(echoedTopic))
            }
            if type == "unsubscribe" { return .unsubscribe(topic) }
            var since: Int64?
            if let raw = object["since"], !(raw is NSNull) {
                // Bounded here, where it enters: every later use (`cursor + 1`, page reads)
                // then works on a number far from Int64's limits.
                guard let value = nonNegativeInteger(raw), let bounded = SequenceNumber.bounded(value) else {
                    throw ProtocolError(.badSince, "since must be an integer sequence number between 0 and \(SequenceNumber.max)",
                                        topic: topic.description)
                }
                guard case .run = topic else { throw ProtocolError(.badSince, "since applies to run topics only", topic: topic.description) }
                since = bounded
            }
            return .subscribe(topic, since: since)
        case "ping":
            return .ping(id: object["id"].flatMap(PingID.init(json:)))
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

/// `since` as an exact Int64: booleans refused (they arrive as NSNumber too, and `true` must
/// not read as 1), fractions refused, and large integers kept exact rather than via Double.
private func nonNegativeInteger(_ raw: Any) -> Int64? {
    guard let number = raw as? NSNumber, !isJSONBoolean(number) else { return nil }
    let value: Int64
    if let exact = Int64(exactly: number.doubleValue), exact.magnitude < 1 << 53 {
        value = exact
    } else if let parsed = Int64(number.stringValue) {
        // Beyond 2^53 a Double is not exact; the number's own digits are.
        value = parsed
    } else {
        return nil
    }
    return value >= 0 ? value : nil
}

/// A malformed topic as the client sent it: a string cut to the echo bound, another scalar
/// as its JSON text; nil for null, objects and arrays (nothing to name).
private func echoedTopic(_ raw: Any) -> String? {
    if let s = raw as? String { return String(s.prefix(ClientMessage.maxTopicEchoLength)) }
    return PingID(json: raw).flatMap { id -> String? in
        if case .string = id { return nil }
        return id.json
    }
}
