import Foundation

/// A ping's `id`, kept with its JSON type so the pong echoes it as sent: a number stays a
/// number, a string a string (docs/PROTOCOL.md).
public enum PingID: Sendable, Equatable {
    case string(String)
    /// The number's JSON text (e.g. "7", "1.5").
    case number(String)
    case bool(Bool)

    /// Reads a decoded JSON scalar; nil for null, objects, arrays and numbers whose text is
    /// longer than the bound. Strings are cut to `ClientMessage.maxPingIDLength` characters,
    /// so a client cannot make the server echo 64 KiB.
    public init?(json raw: Any) {
        if let s = raw as? String {
            self = .string(String(s.prefix(ClientMessage.maxPingIDLength)))
        } else if let n = raw as? NSNumber {
            if isJSONBoolean(n) {
                self = .bool(n.boolValue)
                return
            }
            let text = n.stringValue
            // Only text that is itself a finite JSON number is echoed unquoted.
            guard text.count <= ClientMessage.maxPingIDLength, let value = Double(text), value.isFinite,
                  text.allSatisfy({ "0123456789+-.eE".contains($0) }), text.first != "+", text.first != "." else { return nil }
            self = .number(text)
        } else {
            return nil
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
