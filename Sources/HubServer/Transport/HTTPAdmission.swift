import Foundation

/// A request whose headers are complete and whose body has not been read, as shown to
/// `HTTPHandler.admit`.
public struct HTTPRequestHead: Sendable {
    public let method: HTTPMethod
    /// The decoded path (see `HTTPRequest.path`).
    public let path: String
    public let headers: HTTPHeaders
    /// The declared Content-Length (0 when absent).
    public let contentLength: Int
    /// Client IP address as text.
    public let peerAddress: String

    /// First value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers[name] }
}

/// What the transport does with a request's body, decided before any of it is buffered.
public enum HTTPAdmission: Sendable {
    /// Read the body. `maxBodyBytes` nil means the loop's `maxHTTPBodyBytes` (a body over it
    /// is read and discarded, then answered 413, so the connection stays usable); a number
    /// is a tighter cap answered 413 at once, closing, without reading the body. `context`
    /// travels to `HTTPRequest.admissionContext` (e.g. the authenticated principal).
    case accept(maxBodyBytes: Int? = nil, context: (any Sendable)? = nil)
    /// Answer now with a JSON error and close; the body is never read.
    case reject(status: Int, code: String, message: String)
}

/// Delivers one admission decision for one request. Thread-safe; the first call counts.
/// While no decision has arrived the transport stops reading the connection, so a slow
/// decision (e.g. a credential lookup on a worker) holds no more than one socket read.
// @unchecked Sendable: the first-decision flag is guarded by its lock; the decision is applied on the loop thread.
public final class HTTPAdmissionTicket: @unchecked Sendable {
    private let lock = NSLock()
    private var decided = false
    private let deliver: @Sendable (HTTPAdmission) -> Void

    /// Loop thread (created by the transport at headers-complete).
    init(deliver: @escaping @Sendable (HTTPAdmission) -> Void) {
        self.deliver = deliver
    }

    /// Hands the decision to the transport. Any thread; later calls are ignored.
    public func decide(_ admission: HTTPAdmission) {
        lock.lock()
        if decided { lock.unlock(); return }
        decided = true
        lock.unlock()
        deliver(admission)
    }
}

extension HTTPHandler {
    /// Default: every body is read up to the loop's `maxHTTPBodyBytes`.
    public func admit(_ head: HTTPRequestHead, _ ticket: HTTPAdmissionTicket) {
        ticket.decide(.accept())
    }
}

/// A mutable value shared between the loop thread and a closure that only touches it on
/// the loop thread (the admission ticket's inline path).
// @unchecked Sendable: only touched on the loop thread.
final class LoopSlot<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
