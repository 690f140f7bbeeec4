import Foundation
import HubCore
import HubStore

/// The JSON bodies of /healthz and /api/v1/session (who is logged in), written with the
/// hub's one JSON writer.
enum StatusBody {
    /// {"status":"ok"|"degraded","database":…,"listen":…,"last_notification_age_s":…|null,"connections":…}
    static func health(healthy: Bool, database: Bool, listening: Bool, lastNotificationAge: Double?, connections: Int) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("status"); w.string(healthy ? "ok" : "degraded")
        w.key("database"); w.bool(database)
        w.key("listen"); w.bool(listening)
        // Milliseconds are all a health check needs (and what the old "%.3f" printed).
        w.key("last_notification_age_s")
        if let age = lastNotificationAge { w.double((age * 1000).rounded() / 1000) } else { w.null() }
        w.key("connections"); w.int(connections)
        w.endObject()
        return w.bytes
    }

    /// {"authenticated":true,"org_id":…,"user_id":…,"permissions":[…sorted]}
    static func principal(_ p: Principal) -> String {
        var w = JSONWriter()
        w.beginObject()
        w.key("authenticated"); w.bool(true)
        w.key("org_id"); w.string(p.orgID.uuidString.lowercased())
        w.key("user_id"); w.string(p.userID.uuidString.lowercased())
        w.key("permissions"); w.beginArray()
        for permission in p.permissions.sorted() { w.string(permission) }
        w.endArray()
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }
}
