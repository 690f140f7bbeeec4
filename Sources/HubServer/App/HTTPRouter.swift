import Foundation
import HubCore
import HubStore
import Logging

/// Answers one REST route; implemented by the API layer so HubServer stays free of
/// collection logic. Called on a worker thread; may block on the database.
public protocol RESTHandler: Sendable {
    /// Returns status and JSON body for `request`, already authenticated as `principal`.
    func handle(_ request: APIRequest) -> APIResponse
}

/// An authenticated REST request: method, path below /api/v1, query, body.
public struct APIRequest: Sendable {
    public let method: String
    /// Path segments after /api/v1, e.g. ["runs", "<id>", "pause"].
    public let segments: [String]
    public let query: [String: String]
    public let body: [UInt8]
    public let principal: Principal
    public let peerAddress: String
    public let userAgent: String?
}

/// A JSON answer.
public struct APIResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public var headers: [(String, String)]
    public init(status: Int, body: [UInt8], headers: [(String, String)] = []) {
        self.status = status
        self.body = body
        self.headers = headers
    }

    /// `{"error":{"code":…,"message":…}}` with `status`.
    public static func error(_ status: Int, _ code: String, _ message: String, extra: String = "") -> APIResponse {
        let body = "{\"error\":{\"code\":\(JSONText.quote(code)),\"message\":\(JSONText.quote(message))\(extra)}}"
        return APIResponse(status: status, body: Array(body.utf8))
    }
}


/// Dispatches HTTP requests: /healthz, /metrics, /api/v1/session, /api/v1/…, else static
/// files from public/. Runs on the loop thread; anything that touches the database goes
/// to `work` and answers through the thread-safe responder.
final class HTTPRouter: HTTPHandler {
    let config: HubConfig
    let pool: ConnectionPool
    let authenticator: Authenticator
    let api: (any RESTHandler)?
    let logger: Logger
    let staticFiles: StaticFileResponder
    let work = DispatchQueue(label: "collection-hub.http", attributes: .concurrent)
    private weak var loop: HubLoop?
    private var fanOut: FanOut?

    init(config: HubConfig, pool: ConnectionPool, authenticator: Authenticator, api: (any RESTHandler)?, logger: Logger) {
        self.config = config
        self.pool = pool
        self.authenticator = authenticator
        self.api = api
        self.logger = logger
        self.staticFiles = StaticFileResponder(files: StaticFiles(root: config.publicDirectory), extraHeaders: SecurityHeaders.html)
    }

    func attach(loop: HubLoop, fanOut: FanOut) {
        self.loop = loop
        self.fanOut = fanOut
    }

    /// Loop thread.
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch request.path {
        case "/healthz": health(responder)
        case "/metrics": metrics(responder)
        case "/api/v1/session": session(request, responder)
        default:
            if request.path == "/api" || request.path.hasPrefix("/api/") {
                rest(request, responder)
                return
            }
            guard request.method == .GET || request.method == .HEAD else {
                responder.respondError(status: 405, code: "method_not_allowed", message: "static files are read with GET")
                return
            }
            if !staticFiles.respond(to: request, with: responder) {
                responder.respondError(status: 404, code: "not_found", message: "no such file")
            }
        }
    }

    private func health(_ responder: HTTPResponder) {
        guard let fanOut else { return }
        let listening = fanOut.metrics.listenConnected
        let lastAge = fanOut.metrics.lastNotificationAt.map { (ContinuousClock.now - $0).seconds }
        let connections = fanOut.metrics.connectionsOpen
        work.async { [pool] in
            let database = (try? pool.query("SELECT 1 AS ok").first?.int("ok")) == 1
            let healthy = database && listening
            let age = lastAge.map { String(format: "%.3f", $0) } ?? "null"
            let body = "{\"status\":\"\(healthy ? "ok" : "degraded")\",\"database\":\(database),\"listen\":\(listening),\"last_notification_age_s\":\(age),\"connections\":\(connections)}"
            responder.respondJSON(status: healthy ? 200 : 503, Array(body.utf8))
        }
    }

    private func metrics(_ responder: HTTPResponder) {
        guard let fanOut else { return }
        let snapshot = fanOut.metrics
        let transport = loop?.transportStats ?? TransportStats()
        work.async { [pool] in
            let usage = try? pool.query("SELECT pg_notification_queue_usage() AS u").first?.optionalString("u").flatMap(Double.init)
            let stats = pool.statistics
            let text = snapshot.render(queueUsage: usage, poolOpen: stats.open, poolIdle: stats.idle, transport: transport)
            responder.respond(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
        }
    }

    /// POST {"token": "..."} sets the HttpOnly session cookie; DELETE clears it; GET says who.
    private func session(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let authenticator = self.authenticator
        switch request.method {
        case .POST:
            let body = request.body
            work.async {
                guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                      let token = object["token"] as? String, !token.isEmpty else {
                    return responder.respondError(status: 400, code: "bad_request", message: "send {\"token\": \"<api token>\"}")
                }
                do {
                    guard let principal = try authenticator.principal(for: token) else {
                        return responder.respondError(status: 401, code: "unauthorized", message: "the token is unknown or revoked")
                    }
                    let cookie = "\(Authenticator.cookieName)=\(token); Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000"
                    responder.respondJSON(status: 200, Array(Self.principalJSON(principal).utf8), headers: [("Set-Cookie", cookie)])
                } catch {
                    responder.respondError(status: 503, code: "unavailable", message: "the database is not reachable")
                }
            }
        case .DELETE:
            responder.respondJSON(status: 200, Array("{\"ok\":true}".utf8),
                                  headers: [("Set-Cookie", "\(Authenticator.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")])
        case .GET:
            // "Am I logged in?" is a question, not an error: 200 either way, so a browser
            // checking its session logs no failed request.
            let secret = Authenticator.secret(authorization: request.header("authorization"), cookie: request.header("cookie"))
            work.async {
                guard let secret, let principal = try? authenticator.principal(for: secret) else {
                    return responder.respondJSON(status: 200, Array("{\"authenticated\":false}".utf8))
                }
                responder.respondJSON(status: 200, Array(Self.principalJSON(principal).utf8))
            }
        default:
            responder.respondError(status: 405, code: "method_not_allowed", message: "use POST to log in, DELETE to log out")
        }
    }

    static func principalJSON(_ p: Principal) -> String {
        "{\"authenticated\":true,\"org_id\":\"\(p.orgID.uuidString.lowercased())\",\"user_id\":\"\(p.userID.uuidString.lowercased())\",\"permissions\":[\(p.permissions.sorted().map(JSONText.quote).joined(separator: ","))]}"
    }

    private func authenticate(_ request: HTTPRequest, _ responder: HTTPResponder, _ body: @escaping @Sendable (Principal) -> Void) {
        let authenticator = self.authenticator
        let secret = Authenticator.secret(authorization: request.header("authorization"), cookie: request.header("cookie"))
        work.async {
            guard let secret else {
                return responder.respondError(status: 401, code: "unauthorized", message: "send Authorization: Bearer <token> or log in first")
            }
            do {
                guard let principal = try authenticator.principal(for: secret) else {
                    return responder.respondError(status: 401, code: "unauthorized", message: "the token is unknown or revoked")
                }
                body(principal)
            } catch {
                responder.respondError(status: 503, code: "unavailable", message: "the database is not reachable")
            }
        }
    }

    private func rest(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard request.path.hasPrefix("/api/v1/"), let api else {
            return responder.respondError(status: 404, code: "not_found", message: "no such endpoint: \(request.method.rawValue) \(request.path)")
        }
        let segments = request.path.dropFirst("/api/v1/".count).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let query = request.queryItems.reduce(into: [String: String]()) { q, item in
            if q[item.name] == nil { q[item.name] = item.value }
        }
        let method = request.method.rawValue, body = request.body, peer = request.peerAddress, agent = request.header("user-agent")
        let answer: @Sendable (Principal) -> Void = { principal in
            let response = api.handle(APIRequest(method: method, segments: segments, query: query, body: body,
                                                 principal: principal, peerAddress: peer, userAgent: agent))
            responder.respondJSON(status: response.status, response.body, headers: response.headers + [("Cache-Control", "no-store")])
        }
        // A request with a body was authenticated at headers-complete (`admit`).
        if let principal = request.admissionContext as? Principal {
            work.async { answer(principal) }
            return
        }
        authenticate(request, responder, answer)
    }
}

/// Response headers every page gets: scripts only from our origin, no framing.
enum SecurityHeaders {
    static let html: [(String, String)] = [
        ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ]
}
