/// Minimal JSON writing for server messages: no JSONEncoder on hot paths.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// {"type":"error","code":…,"message":…[,"topic":…]}
    public static func error(_ error: ProtocolError, topic: String? = nil) -> String {
        var s = "{\"type\":\"error\",\"code\":\(quote(error.code.rawValue)),\"message\":\(quote(error.message))"
        if let topic { s += ",\"topic\":\(quote(topic))" }
        return s + "}"
    }
}
