/// The WebSocket control frames the hub writes itself (events are forwarded as PostgreSQL
/// wrote them), as Swift strings for `sendControl`. All go through `JSONWriter`, so a topic
/// or message with quotes or control characters is escaped by the one escaper.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var writer = JSONWriter(reservingCapacity: s.utf8.count + 2)
        writer.string(s)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    /// {"type":"error","code":…,"message":…[,"topic":…]}
    public static func error(_ error: ProtocolError, topic: String? = nil) -> String {
        message("error") { w in
            w.key("code"); w.string(error.code.rawValue)
            w.key("message"); w.string(error.message)
            if let topic { w.key("topic"); w.string(topic) }
        }
    }

    /// {"type":"hello","protocol":"collection-hub.v1","org":…,"max_frame_bytes":…,"permissions":[…]}
    public static func hello(org: String, maxFrameBytes: Int, permissions: [String]) -> String {
        message("hello") { w in
            w.key("protocol"); w.string("collection-hub.v1")
            w.key("org"); w.string(org)
            w.key("max_frame_bytes"); w.int(maxFrameBytes)
            w.key("permissions"); w.beginArray()
            for p in permissions { w.string(p) }
            w.endArray()
        }
    }

    /// {"type":"pong"[,"id":…]}: the id echoed with its JSON type.
    public static func pong(id: PingID?) -> String {
        message("pong") { w in
            if let id { w.key("id"); w.raw(id.json.utf8) }
        }
    }

    private static func message(_ type: String, _ fields: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("type"); w.string(type)
        fields(&w)
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// The one REST error body, `{"error":{"code":…,"message":…[,"fields":[{"field":…,"message":…}]]}}`:
/// transport refusals (413, 431, 503), router refusals (401, 403) and API errors (400, 404,
/// 422) all come from here, so a client parses one shape whoever refused it.
public enum ErrorBody {
    public static func json(code: String, message: String, fields: [FieldError] = []) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("error")
        w.beginObject()
        w.key("code"); w.string(code)
        w.key("message"); w.string(message)
        if !fields.isEmpty {
            w.key("fields")
            w.beginArray()
            for f in fields {
                w.beginObject()
                w.key("field"); w.string(f.field)
                w.key("message"); w.string(f.message)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }
}
