import Foundation
import HubStore

/// Who may send a body, decided at headers-complete so an unauthenticated client never
/// makes the hub buffer one.
extension HTTPRouter {
    /// The login form's body is one token in JSON: a small cap of its own.
    static let sessionBodyLimit = 4 * 1024

    /// Loop thread. /api/v1/session (the login endpoint) takes a small body without
    /// credentials; every other /api route needs them, checked here from memory before a
    /// byte of body is read (`rest` checks again after it, as cheaply, with the body's type).
    /// Paths outside /api take no meaningful body: the same small cap.
    func admit(_ head: HTTPRequestHead, _ ticket: HTTPAdmissionTicket) {
        guard head.path == "/api" || head.path.hasPrefix("/api/"), head.path != "/api/v1/session" else {
            return ticket.decide(.accept(maxBodyBytes: Self.sessionBodyLimit))
        }
        guard let presented = Authenticator.presented(authorization: head.header("authorization"), cookie: head.header("cookie")) else {
            return ticket.decide(.reject(status: 401, code: "unauthorized", message: "send Authorization: Bearer <token> or log in first"))
        }
        if case .cookie = presented, let refusal = requestGuard.checkCookieRequest(method: head.method, header: head.header) {
            return ticket.decide(.reject(status: refusal.status, code: refusal.code, message: refusal.message))
        }
        // From memory, on the loop: a stranger's random secret costs a hash and a lookup.
        switch authenticator.authenticate(presented) {
        case .authenticated(let principal, _):
            ticket.decide(.accept(context: principal))
        case .missing, .unknown:
            ticket.decide(.reject(status: 401, code: "unauthorized", message: "the token or session is unknown or revoked, or expired"))
        case .unavailable:
            ticket.decide(.reject(status: 503, code: "unavailable", message: "the hub has not loaded credentials yet; retry"))
        }
    }
}
