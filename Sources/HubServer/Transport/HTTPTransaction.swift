import Foundation

/// The HTTP/1 side of one connection (lives in its `Connection` until the upgrade or the
/// close): the request in progress and whether it is the first. Loop thread only.
final class HTTPSession {
    var wsi: OpaquePointer?
    /// The request being received or answered; nil between keep-alive requests.
    var current: HTTPTransaction?

    /// Loop thread.
    init(wsi: OpaquePointer) { self.wsi = wsi }

    /// True until the first request's headers complete: that request's deadline counts
    /// from the accept, later ones (keep-alive) from their headers.
    var firstRequest = true

    /// The connection is gone: pending responses become no-ops, held body bytes are
    /// released and the request deadline is cancelled.
    func detach() {
        wsi = nil
        current?.retire()
        current = nil
    }
}

/// One request/response exchange.
final class HTTPTransaction {
    enum State { case admitting, receivingBody, awaitingResponse, responding, done, abandoned }

    let id: UInt64
    weak var connection: HTTPSession?
    var state: State = .receivingBody
    let method: HTTPMethod
    let path: String
    let query: DecodedQuery
    let headers: [(String, String)]
    let peerAddress: String
    /// Reading is paused (lws_rx_flow_control) while the admission decision is pending.
    var rxPaused = false
    /// Grows as bytes arrive (never reserved from Content-Length).
    var body: [UInt8] = []
    var bodyTooLarge = false
    /// The body's end arrived (possibly while the admission decision was pending).
    var bodyComplete = false
    /// Body cap decided at admission.
    var maxBodyBytes = 0
    var admissionContext: (any Sendable)?
    var output: HTTPOutput?
    /// Bytes of `body` counted in the loop's `heldRequestBytes`; `limits` gives them back.
    var heldBytes = 0
    weak var limits: RequestLimits?
    /// Fires at the request deadline (headers + body); cancelled once the request is complete.
    var deadline: TimerHandle?
    /// The connection cannot carry another request after this one (lws still expects a body).
    var closeAfterResponse = false

    /// Loop thread.
    init(id: UInt64, connection: HTTPSession, method: HTTPMethod, path: String,
         query: DecodedQuery, headers: [(String, String)], peerAddress: String) {
        self.id = id
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.peerAddress = peerAddress
    }

    /// The body is no longer being received: stop holding its bytes and its deadline.
    func finishReceiving() {
        limits?.release(self)
        deadline?.cancel()
        deadline = nil
    }

    /// Stop counting the body's bytes (it is being discarded).
    func finishHolding() { limits?.release(self) }

    /// The exchange is over without a response (connection gone or replaced).
    func retire() {
        state = .abandoned
        body = []
        finishReceiving()
    }
}

/// A response being written.
struct HTTPOutput {
    var status: Int
    var headers: [(String, String)]
    var body: [UInt8]
    var sendBody: Bool
    var closeAfter: Bool
    var headersSent = false
    var bodyOffset = 0
}
