import Foundation

/// Request methods the transport accepts.
public enum HTTPMethod: String, Sendable, CaseIterable {
    case GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS
}

/// Request headers with lowercased names (`authorization`, `cookie`, `origin`,
/// `content-type`, `host`, ...), in arrival order.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var entries: [(name: String, value: String)]

    /// Headers from (name, value) pairs; names are lowercased.
    public init(_ entries: [(String, String)] = []) {
        self.entries = entries.map { (name: $0.0.lowercased(), value: $0.1) }
    }

    /// First value of the header `name` (case-insensitive), nil when absent.
    public subscript(_ name: String) -> String? {
        let lower = name.lowercased()
        return entries.first { $0.name == lower }?.value
    }

    /// Iterates (name, value) pairs in arrival order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        entries.makeIterator()
    }
}

/// A complete HTTP request (headers and body), as handed to `HTTPHandler.handle`.
public struct HTTPRequest: Sendable {
    public let method: HTTPMethod
    /// The URL path as libwebsockets delivers it: already percent-decoded, with `//`,
    /// `/./` and `/../` collapsed (lws 4.1 does this while parsing and keeps no raw copy).
    /// Use `StaticFiles.resolve(decodedPath:)` with it.
    public let path: String
    /// The query string rebuilt from lws's decoded arguments joined with `&` (lws 4.1
    /// percent-decodes each `name=value` part and turns `+` into a space). Empty if none.
    public let query: String
    /// The decoded query arguments in order.
    public let queryItems: [(name: String, value: String)]
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// Client IP address as text.
    public let peerAddress: String
    /// What `HTTPHandler.admit` attached to the request (nil when it was not asked).
    public let admissionContext: (any Sendable)?

    /// Builds a request (the transport does this; public for handler tests).
    public init(method: HTTPMethod, path: String, query: String = "", queryItems: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], peerAddress: String = "",
                admissionContext: (any Sendable)? = nil) {
        self.method = method
        self.path = path
        self.query = query
        self.queryItems = queryItems
        self.headers = headers
        self.body = body
        self.peerAddress = peerAddress
        self.admissionContext = admissionContext
    }

    /// First value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers[name] }

    /// First value of query argument `name`.
    public func queryValue(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }
}

/// Serves plain HTTP requests. Called on the loop thread once the whole request has
/// arrived; respond through `responder` from any thread, exactly once.
public protocol HTTPHandler: AnyObject {
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder)
    /// Called on the loop thread when the headers of a request with a body are complete,
    /// before any of the body is buffered: decide through `ticket` (now, or later from any
    /// thread). The default accepts every body up to the loop's `maxHTTPBodyBytes`.
    func admit(_ head: HTTPRequestHead, _ ticket: HTTPAdmissionTicket)
}
