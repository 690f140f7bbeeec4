import Foundation
import HubCore
import HubStore
import Logging

/// /api/v1/session: POST {"token"} exchanges an API token for an opaque server-side
/// session (the cookie never holds the token), GET says who is logged in, DELETE ends
/// the session everywhere. Loop thread; database writes go to a worker.
// @unchecked Sendable: state is touched on the loop thread; workers only run queries and post back.
final class SessionEndpoint: @unchecked Sendable {
    /// How long a session lives (the cookie's Max-Age matches).
    static let lifetime: Duration = .seconds(30 * 24 * 3600)
    private let repository: SessionRepository
    private let authenticator: Authenticator
    private let logger: Logger
    private let workers: DatabaseWorkers
    weak var loop: HubLoop?

    init(pool: ConnectionPool, workers: DatabaseWorkers, authenticator: Authenticator, logger: Logger) {
        self.repository = SessionRepository(pool: pool)
        self.workers = workers
        self.authenticator = authenticator
        self.logger = logger
    }

    static func setCookie(_ value: String, maxAge: Int) -> (String, String) {
        ("Set-Cookie", "\(Authenticator.cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)")
    }

    func handle(_ request: HTTPRequest, _ responder: HTTPResponder, guard requestGuard: RequestGuard) {
        switch request.method {
        case .POST: login(request, responder, requestGuard)
        case .DELETE: logout(request, responder, requestGuard)
        case .GET: whoAmI(request, responder, requestGuard)
        default:
            responder.apiError(405, "method_not_allowed", "use POST to log in, DELETE to log out")
        }
    }

    /// Login is a cookie-setting request: a foreign page must not be able to log the
    /// browser into its attacker's session (login CSRF), so it passes the cookie checks.
    private func login(_ request: HTTPRequest, _ responder: HTTPResponder, _ requestGuard: RequestGuard) {
        if let refusal = requestGuard.checkCookieRequest(method: request.method, header: request.header)
            ?? RequestGuard.checkJSONBody(request.body, contentType: request.header("content-type")) {
            return responder.apiError(refusal)
        }
        guard let token = LoginRequestBody.decode(request.body)?.token else {
            return responder.apiError(400, "bad_request", "send {\"token\": \"<api token>\"}")
        }
        guard authenticator.isLoaded else {
            return responder.apiError(503, "unavailable", "the hub has not loaded credentials yet; retry")
        }
        guard let principal = authenticator.token(secret: token) else {
            return responder.apiError(401, "unauthorized", "the token is unknown or revoked")
        }
        let repository = self.repository, authenticator = self.authenticator, logger = self.logger
        let loop = UncheckedBox(self.loop)
        workers.answer(responder) {
            let created: (LiveSession, String)?
            do {
                created = try repository.sessionCreate(tokenID: principal.tokenID, lifetime: Self.lifetime)
            } catch {
                logger.warning("cannot create a session: \(error)")
                return responder.apiError(503, "unavailable", "the database is not reachable; retry")
            }
            guard let (session, secret) = created else {
                return responder.apiError(401, "unauthorized", "the token is unknown or revoked")
            }
            // Known here before the answer leaves, so the browser's next request is
            // recognised without waiting for the NOTIFY to come back.
            loop.value?.post {
                authenticator.sessionStarted(session)
                responder.apiJSON(200, StatusBody.principal(principal),
                                  headers: [Self.setCookie(secret, maxAge: Int(Self.lifetime.components.seconds))])
            }
        }
    }

    /// Ends the cookie's session in the table (every hub hears it by NOTIFY) and in this
    /// hub's memory at once, and clears the cookie.
    private func logout(_ request: HTTPRequest, _ responder: HTTPResponder, _ requestGuard: RequestGuard) {
        let clear = Self.setCookie("", maxAge: 0)
        guard case .cookie(let secret)? = Authenticator.presented(authorization: nil, cookie: request.header("cookie")) else {
            return responder.apiJSON(200, "{\"ok\":true}", headers: [clear])
        }
        if let refusal = requestGuard.checkCookieRequest(method: request.method, header: request.header) {
            return responder.apiError(refusal)
        }
        guard !secret.isEmpty, secret.utf8.count <= Authenticator.maxSecretLength else {
            return responder.apiJSON(200, "{\"ok\":true}", headers: [clear])
        }
        let hash = SHA256.hash(Array(secret.utf8))
        authenticator.sessionEnded(hash: hash)
        let repository = self.repository, logger = self.logger
        workers.answer(responder, refusedHeaders: [clear]) {
            do {
                try repository.sessionEnd(hash: hash)
                responder.apiJSON(200, "{\"ok\":true}", headers: [clear])
            } catch {
                // This hub already refuses it; the others would not hear of it. Say so.
                logger.warning("cannot end a session: \(error)")
                responder.apiError(503, "unavailable", "the session could not be ended everywhere; retry", headers: [clear])
            }
        }
    }

    /// "Am I logged in?" is a question, not an error: 200 either way, so a browser
    /// checking its session logs no failed request.
    private func whoAmI(_ request: HTTPRequest, _ responder: HTTPResponder, _ requestGuard: RequestGuard) {
        let presented = Authenticator.presented(authorization: request.header("authorization"), cookie: request.header("cookie"))
        if case .cookie = presented, let refusal = requestGuard.checkCookieRequest(method: request.method, header: request.header) {
            return responder.apiError(refusal)
        }
        guard let presented, case .authenticated(let principal, _) = authenticator.authenticate(presented) else {
            return responder.apiJSON(200, "{\"authenticated\":false}")
        }
        responder.apiJSON(200, StatusBody.principal(principal))
    }
}
