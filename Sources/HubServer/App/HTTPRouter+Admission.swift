import Foundation
import HubStore

/// Who may send a body, decided at headers-complete so an unauthenticated client never
/// makes the hub buffer one.
extension HTTPRouter {
    /// The login form's body is one token in JSON: a small cap of its own.
    static let sessionBodyLimit = 4 * 1024

    /// Loop thread. /api/v1/session (the login endpoint) takes a small body without
    /// credentials; every other /api route needs them, looked up once here, and the
    /// principal found travels with the request to `rest` (no second lookup). Paths outside
    /// /api take no meaningful body: the same small cap.
    func admit(_ head: HTTPRequestHead, _ ticket: HTTPAdmissionTicket) {
        guard head.path == "/api" || head.path.hasPrefix("/api/"), head.path != "/api/v1/session" else {
            return ticket.decide(.accept(maxBodyBytes: Self.sessionBodyLimit))
        }
        guard let secret = Authenticator.secret(authorization: head.header("authorization"), cookie: head.header("cookie")) else {
            return ticket.decide(.reject(status: 401, code: "unauthorized", message: "send Authorization: Bearer <token> or log in first"))
        }
        // The same lookup `rest` made after the body before; it may query the database on
        // a cache miss, so it runs on the worker queue and the transport pauses reading
        // this socket until the ticket is decided.
        let authenticator = self.authenticator
        work.async {
            do {
                guard let principal = try authenticator.principal(for: secret) else {
                    return ticket.decide(.reject(status: 401, code: "unauthorized", message: "the token is unknown or revoked"))
                }
                ticket.decide(.accept(context: principal))
            } catch {
                ticket.decide(.reject(status: 503, code: "unavailable", message: "the database is not reachable"))
            }
        }
    }
}
