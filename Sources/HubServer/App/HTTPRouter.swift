import Foundation
import HubStore
import Logging

/// Dispatches HTTP requests: /healthz, /metrics, /api/v1/…, else static files from public/.
/// Runs on the loop thread; anything that touches the database goes to `work`, a
/// concurrent queue, and answers through the thread-safe responder.
final class HTTPRouter: HTTPHandler {
    let config: HubConfig
    let pool: ConnectionPool
    let logger: Logger
    let staticFiles: StaticFileResponder
    let websocket: WebSocketGate
    let work = DispatchQueue(label: "collection-hub.http", attributes: .concurrent)
    private(set) weak var loop: HubLoop?

    init(config: HubConfig, pool: ConnectionPool, logger: Logger) {
        self.config = config
        self.pool = pool
        self.logger = logger
        self.staticFiles = StaticFileResponder(
            files: StaticFiles(root: config.publicDirectory),
            extraHeaders: SecurityHeaders.html)
        self.websocket = WebSocketGate()
    }

    func attach(loop: HubLoop) { self.loop = loop }

    /// Loop thread.
    func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        switch request.path {
        case "/healthz":
            work.async { [pool] in
                let started = ContinuousClock.now
                let database = (try? pool.query("SELECT 1 AS ok").first?.int("ok")) == 1
                let elapsed = ContinuousClock.now - started
                let body = "{\"status\":\"\(database ? "ok" : "degraded")\",\"database\":\(database),\"database_ms\":\(Int(elapsed.seconds * 1000))}"
                responder.respondJSON(status: database ? 200 : 503, Array(body.utf8))
            }
        default:
            if request.path.hasPrefix("/api/") {
                responder.respondError(status: 404, code: "not_found", message: "no such endpoint: \(request.method.rawValue) \(request.path)")
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
}

/// Placeholder WebSocket handler until the protocol lands: refuses every upgrade.
final class WebSocketGate: WebSocketHandler {
    func shouldAccept(_ request: UpgradeRequest) -> UpgradeDecision {
        .rejectJSON(status: 503, code: "unavailable", message: "the WebSocket protocol is not enabled")
    }
    func didOpen(_ session: WebSocketSession) {}
    func didReceive(_ session: WebSocketSession, text: UnsafeRawBufferPointer) {}
    func didClose(_ session: WebSocketSession) {}
}

/// Response headers every page gets: scripts only from our origin, no framing.
enum SecurityHeaders {
    static let html: [(String, String)] = [
        ("content-security-policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
    ]
}
