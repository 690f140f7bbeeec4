import CLibWebSockets
import Foundation

/// Per-connection state of one accepted socket, from accept to LWS_CALLBACK_WSI_DESTROY:
/// its HTTP/1 session or (after the upgrade) its WebSocket session, and what admission
/// counted for it. Survives lws's protocol re-binds (which free per_session_data) and the
/// HTTP → WebSocket upgrade. Loop thread only.
///
/// Ownership: the wsi's opaque user slot holds exactly this kind of object, retained once
/// (`attach(to:)`) and released once at WSI_DESTROY (`detach(from:)`). Nothing else is
/// ever stored in that slot (adopted descriptors are found through the loop's registry).
final class Connection {
    /// The HTTP/1 requests of this connection (nil once it upgraded).
    var http: HTTPSession?
    /// The WebSocket session (from HTTP_CONFIRM_UPGRADE on).
    var webSocket: WebSocketSession?
    /// When the connection was accepted (the first request's deadline counts from here).
    let acceptedAt: ContinuousClock.Instant
    /// The client address counted in `RequestLimits` until WSI_DESTROY.
    let countedAddress: String

    /// The connection whose state `wsi` carries, nil before `attach`. Loop thread.
    static func of(_ wsi: OpaquePointer) -> Connection? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<Connection>.fromOpaque(raw).takeUnretainedValue()
    }

    /// Stores a retained reference in `wsi`'s user slot. Loop thread.
    func attach(to wsi: OpaquePointer) {
        precondition(lws_get_opaque_user_data(wsi) == nil, "wsi user slot already taken")
        lws_set_opaque_user_data(wsi, Unmanaged.passRetained(self).toOpaque())
    }

    /// Empties `wsi`'s user slot and hands back its reference (WSI_DESTROY). Loop thread.
    static func detach(from wsi: OpaquePointer) -> Connection? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        lws_set_opaque_user_data(wsi, nil)
        return Unmanaged<Connection>.fromOpaque(raw).takeRetainedValue()
    }

    #if DEBUG
    /// Live connections, for leak checks in tests.
    nonisolated(unsafe) static var live = 0
    static let liveLock = NSLock()
    init(acceptedAt: ContinuousClock.Instant, countedAddress: String) {
        self.acceptedAt = acceptedAt
        self.countedAddress = countedAddress
        Connection.liveLock.lock(); Connection.live += 1; Connection.liveLock.unlock()
    }
    deinit { Connection.liveLock.lock(); Connection.live -= 1; Connection.liveLock.unlock() }
    static var liveCount: Int { liveLock.lock(); defer { liveLock.unlock() }; return live }
    #else
    init(acceptedAt: ContinuousClock.Instant, countedAddress: String) {
        self.acceptedAt = acceptedAt
        self.countedAddress = countedAddress
    }
    #endif
}
