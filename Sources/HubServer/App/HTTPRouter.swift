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

    /// `ErrorBody` with `status`; `fields` name what was wrong (422).
    public static func error(_ status: Int, _ code: String, _ message: String, fields: [FieldError] = []) -> APIResponse {
        APIResponse(status: status, body: ErrorBody.json(code: code, message: message, fields: fields))
    }
}


/// Dispatches HTTP requests: /healthz, /metrics, /api/v1/session, /api/v1/…, else static
/// files from public/. Runs on the loop thread; anything that touches the database goes
/// to `workers` and answers through the thread-safe responder.
final class HTTPRouter: HTTPHandler {
    let config: HubConfig
    let pool: ConnectionPool
    let authenticator: Authenticator
    let api: (any RESTHandler)?
    let logger: Logger
    let staticFiles: StaticFileResponder
    let sessions: SessionEndpoint
    /// Where database work goes, bounded; full, a request is answered 503 `unavailable`.
    let workers: DatabaseWorkers
    private weak var loop: HubLoop?
    private var fanOut: FanOut?
    /// The other loops of this process (`serve --loops N`); nil with one loop.
    var peers: LoopPeers?

    init(config: HubConfig, pool: ConnectionPool, workers: DatabaseWorkers, authenticator: Authenticator,
         api: (any RESTHandler)?, logger: Logger) {
        self.config = config
        self.pool = pool
        self.workers = workers
        self.authenticator = authenticator
        self.api = api
        self.logger = logger
        self.sessions = SessionEndpoint(pool: pool, workers: workers, authenticator: authenticator, logger: logger)
        self.staticFiles = StaticFileResponder(files: StaticFiles(root: config.publicDirectory), extraHeaders: SecurityHeaders.html)
    }

    func attach(loop: HubLoop, fanOut: FanOut) {
        self.loop = loop
        self.fanOut = fanOut
        sessions.loop = loop
    }

    /// Loop thread.
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch request.path {
        case "/healthz": health(responder)
        case "/metrics": metrics(responder)
        case "/api/v1/session": sessions.handle(request, responder, guard: requestGuard)
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

    /// Loop thread: each loop's counters (this one's alone without peers), then `body` on the
    /// loop. `takingStall`: /metrics takes each loop's longest callback (it starts over), /healthz
    /// leaves it for the next scrape.
    private func snapshots(takingStall: Bool, _ body: @escaping ([LoopSnapshot]) -> Void) {
        guard let fanOut, let loop else { return }
        func own() -> LoopSnapshot {
            LoopSnapshot(metrics: fanOut.counters, transport: loop.transportStats,
                         loopStall: takingStall ? loop.takeLongestCallback() : .zero)
        }
        guard let peers else { return body([own()]) }
        peers.gather(on: loop, takingStall: takingStall) { parts in body(parts.isEmpty ? [own()] : parts) }
    }

    private func health(_ responder: HTTPResponder) {
        snapshots(takingStall: false) { [workers, pool] parts in
            let s = LoopSnapshot.combined(parts)
            let listening = s.metrics.listenConnected
            let lastAge = s.metrics.lastNotificationAt.map { (ContinuousClock.now - $0).seconds }
            let connections = s.metrics.connectionsOpen
            workers.answer(responder) { [pool] in
                let database = DatabaseStatusRepository(pool: pool).databasePing()
                let healthy = database && listening
                let body = StatusBody.health(healthy: healthy, database: database, listening: listening,
                                             lastNotificationAge: lastAge, connections: connections)
                responder.respondJSON(status: healthy ? 200 : 503, body)
            }
        }
    }

    private func metrics(_ responder: HTTPResponder) {
        snapshots(takingStall: true) { [workers, pool] parts in
            let s = LoopSnapshot.combined(parts), perLoop = LoopSnapshot.perLoopText(parts)
            workers.answer(responder) { [pool, workers] in
                let databaseLoad = workers.currentLoad
                let usage = DatabaseStatusRepository(pool: pool).notifyQueueUsageRead()
                let stats = pool.statistics
                let text = s.metrics.render(queueUsage: usage, poolOpen: stats.open, poolIdle: stats.idle, transport: s.transport,
                                            loopStall: s.loopStall, databaseLoad: databaseLoad) + perLoop
                responder.respond(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")], body: Array(text.utf8))
            }
        }
    }

    /// The request guard for the port actually bound (port 0 in tests).
    var requestGuard: RequestGuard {
        RequestGuard(allowedOrigins: config.allowedOrigins, bindHost: config.host, port: loop?.boundPort ?? config.port)
    }

    /// Loop thread, from memory: the principal, or nil after answering 401/403/415/421/503.
    /// Cookie requests must also pass Host and (unsafe methods) Origin checks.
    func authenticate(_ request: HTTPRequest, _ responder: HTTPResponder) -> Principal? {
        guard let presented = Authenticator.presented(authorization: request.header("authorization"), cookie: request.header("cookie")) else {
            responder.apiError(401, "unauthorized", "send Authorization: Bearer <token> or log in first")
            return nil
        }
        if case .cookie = presented, let refusal = requestGuard.checkCookieRequest(method: request.method, header: request.header) {
            responder.apiError(refusal)
            return nil
        }
        switch authenticator.authenticate(presented) {
        case .authenticated(let principal, _):
            if let refusal = RequestGuard.checkJSONBody(request.body, contentType: request.header("content-type")) {
                responder.apiError(refusal)
                return nil
            }
            return principal
        case .missing, .unknown:
            responder.apiError(401, "unauthorized", "the token or session is unknown or revoked, or expired")
        case .unavailable:
            responder.apiError(503, "unavailable", "the hub has not loaded credentials yet; retry")
        }
        return nil
    }

    private func rest(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard request.path.hasPrefix("/api/v1/"), let api else {
            return responder.apiError(404, "not_found", "no such endpoint: \(request.method.rawValue) \(request.path)")
        }
        let segments = request.path.dropFirst("/api/v1/".count).split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let query = request.queryItems.reduce(into: [String: String]()) { q, item in
            if q[item.name] == nil { q[item.name] = item.value }
        }
        guard let principal = authenticate(request, responder) else { return }
        let method = request.method.rawValue, body = request.body, peer = request.peerAddress, agent = request.header("user-agent")
        workers.answer(responder) {
            let response = api.handle(APIRequest(method: method, segments: segments, query: query, body: body,
                                                 principal: principal, peerAddress: peer, userAgent: agent))
            responder.respondJSON(status: response.status, response.body, headers: response.headers + APIHeaders.all)
        }
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
