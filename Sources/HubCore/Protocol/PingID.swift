/// A ping's `id`, kept with its JSON type so the pong echoes it as sent: a number stays a
/// number, a string a string (docs/PROTOCOL.md).
public enum PingID: Sendable, Equatable {
    case string(String)
    /// The number's JSON text (e.g. "7", "1.5").
    case number(String)
    case bool(Bool)

    /// Reads a decoded JSON scalar; nil for objects and arrays. Strings are cut to
    /// `ClientMessage.maxPingIDLength` characters, so a client cannot make the server echo
    /// 64 KiB; a number is echoed as the writer prints it (its text is at most 25 bytes).
    public init?(_ raw: JSONScalar) {
        switch raw {
        case .string(let s): self = .string(String(s.prefix(ClientMessage.maxPingIDLength)))
        case .bool(let b): self = .bool(b)
        case .integer, .number:
            guard let text = raw.json else { return nil }
            self = .number(text)
        case .other: return nil
        }
    }

    /// The id as a JSON value.
    public var json: String {
        switch self {
        case .string(let s): return JSONText.quote(s)
        case .number(let text): return text
        case .bool(let b): return b ? "true" : "false"
        }
    }
}
