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
        let wire: Wire
        do {
            wire = try JSONDecoder().decode(Wire.self, from: data)
        } catch DecodingError.dataCorrupted {
            throw ProtocolError(.badJSON, "message is not valid JSON")
        } catch {
            // Valid JSON whose top level is not an object (Wire's fields never throw).
            throw ProtocolError(.notObject, "a message is a JSON object with a \"type\"")
        }
        guard case .value(let type)? = wire.type else { throw ProtocolError(.unknownType, "a message needs a string \"type\"") }
        switch type {
        case "subscribe", "unsubscribe":
            guard case .string(let text)? = wire.topic, let topic = Topic(text) else {
                // Echo what was sent (bounded) so a client with several requests in flight
                // can tell which one failed, even when the topic is malformed.
                throw ProtocolError(.badTopic, "topic must be \"org\" or \"run:<uuid>\"", topic: wire.topic.flatMap(echoedTopic))
            }
            if type == "unsubscribe" { return .unsubscribe(topic) }
            var since: Int64?
            if let raw = wire.since {
                // Bounded here, where it enters: every later use (`cursor + 1`, page reads)
                // then works on a number far from Int64's limits. Only an exact integer
                // counts: no booleans, fractions or strings.
                guard case .integer(let value) = raw, let bounded = SequenceNumber.bounded(value) else {
                    throw ProtocolError(.badSince, "since must be an integer sequence number between 0 and \(SequenceNumber.max)",
                                        topic: topic.description)
                }
                guard case .run = topic else { throw ProtocolError(.badSince, "since applies to run topics only", topic: topic.description) }
                since = bounded
            }
            return .subscribe(topic, since: since)
        case "ping":
            return .ping(id: wire.id.flatMap(PingID.init))
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

/// A client message's fields, each read without failing on its type: the parser reports
/// a wrong type as the field's own error code. Absent and null are both nil.
private struct Wire: Decodable {
    let type: Loose<String>?
    let topic: JSONScalar?
    let since: JSONScalar?
    let id: JSONScalar?
}

/// A malformed topic as the client sent it: a string cut to the echo bound, another scalar
/// as its JSON text; nil for objects and arrays (nothing to name).
private func echoedTopic(_ raw: JSONScalar) -> String? {
    if case .string(let s) = raw { return String(s.prefix(ClientMessage.maxTopicEchoLength)) }
    return raw.json
}
