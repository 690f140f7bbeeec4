/// JSON as Swift strings for callers that build text (REST bodies, control frames); the
/// escaping itself lives in `JSONWriter` so there is one escaper.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var writer = JSONWriter(reservingCapacity: s.utf8.count + 2)
        writer.string(s)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// {"type":"error","code":…,"message":…[,"topic":…]}
    public static func error(_ error: ProtocolError, topic: String? = nil) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string("error")
        w.key("code"); w.string(error.code.rawValue)
        w.key("message"); w.string(error.message)
        if let topic { w.key("topic"); w.string(topic) }
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
