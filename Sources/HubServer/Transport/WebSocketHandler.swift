import Foundation

/// What a WebSocket client asked for, shown to `WebSocketHandler.shouldAccept` before the
/// upgrade is answered.
public struct UpgradeRequest: Sendable {
    /// Decoded path (always `HubLoopConfig.wsPath` here).
    public let path: String
    /// Decoded query arguments joined with `&` (see `HTTPRequest.query`).
    public let query: String
    public let queryItems: [(name: String, value: String)]
    /// All request headers, lowercased names.
    public let headers: HTTPHeaders
    /// The raw `Sec-WebSocket-Protocol` list the client offered (nil when none).
    public let requestedSubprotocols: String?
    public let peerAddress: String

    /// Builds an upgrade request (the transport does this; public for handler tests).
    public init(path: String, query: String = "", queryItems: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), requestedSubprotocols: String? = nil, peerAddress: String = "") {
        self.path = path
        self.query = query
        self.queryItems = queryItems
        self.headers = headers
        self.requestedSubprotocols = requestedSubprotocols
        self.peerAddress = peerAddress
    }

    /// First value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers[name] }
    /// First value of query argument `name`.
    public func queryValue(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }
}

/// The answer to an upgrade request.
public enum UpgradeDecision {
    /// Proceed with the upgrade; `userInfo` is attached to the session.
    case accept(userInfo: AnyObject? = nil)
    /// Answer with a plain HTTP response (e.g. 401/403 + JSON) instead of upgrading.
    case reject(status: Int, headers: [(String, String)] = [], body: [UInt8])

    /// Reject with `{"error":{"code":…,"message":…}}`.
    public static func rejectJSON(status: Int, code: String, message: String,
                                  headers: [(String, String)] = []) -> UpgradeDecision {
        .reject(status: status, headers: [("Content-Type", "application/json")] + headers,
                body: jsonErrorBody(code: code, message: message))
    }
}

/// Serves WebSocket sessions. Every method is called on the loop thread.
public protocol WebSocketHandler: AnyObject {
    /// Decide whether to upgrade. Called while the request is still plain HTTP, so a
    /// rejection reaches the client as a real HTTP status (401/403...) with a body.
    func shouldAccept(_ request: UpgradeRequest) -> UpgradeDecision
    /// The session is established; it may be sent to from now on.
    func didOpen(_ session: WebSocketSession)
    /// One complete text message (fragments reassembled, UTF-8 validated by lws). The
    /// buffer is only valid during the call.
    func didReceive(_ session: WebSocketSession, text: UnsafeRawBufferPointer)
    /// The session is gone (after `didOpen` only). Sending is a no-op from now on.
    func didClose(_ session: WebSocketSession)
}
