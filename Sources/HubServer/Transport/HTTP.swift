import CLibWebSockets
import Foundation

// MARK: - Public HTTP types

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

/// Completes one HTTP request. Thread-safe: `respond` may be called from any thread;
/// only the first call counts. A response to a client that already disconnected is
/// silently dropped. If the responder is released without responding, a 500 is sent.
// @unchecked Sendable: `completed` is guarded by `lock`; delivery posts to the loop thread.
public final class HTTPResponder: @unchecked Sendable {
    private let lock = NSLock()
    private var completed = false
    private weak var loop: HubLoop?
    private let transaction: LoopBound<HTTPTransaction>

    /// Loop thread (created when a request is dispatched).
    init(loop: HubLoop, transaction: HTTPTransaction) {
        self.loop = loop
        self.transaction = LoopBound(transaction)
    }

    deinit {
        if !completed {
            deliver(status: 500, headers: [("Content-Type", "application/json")],
                    body: jsonErrorBody(code: "internal", message: "no response produced"))
        }
    }

    /// True once `respond` has been called.
    public var isCompleted: Bool {
        lock.lock(); defer { lock.unlock() }
        return completed
    }

    /// Sends the response: status line, `headers` (name, value) and `body`. The transport
    /// adds Content-Length (and Connection when needed); a `Content-Type` header is
    /// honoured. For HEAD requests the body is measured but not sent. Any thread; second
    /// and later calls are ignored.
    public func respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        lock.lock()
        if completed { lock.unlock(); return }
        completed = true
        lock.unlock()
        deliver(status: status, headers: headers, body: body)
    }

    /// Convenience: a JSON body with `Content-Type: application/json`.
    public func respondJSON(status: Int, _ json: [UInt8], headers: [(String, String)] = []) {
        respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: json)
    }

    /// Convenience: `{"error":{"code":…,"message":…}}` with the given status.
    public func respondError(status: Int, code: String, message: String) {
        respondJSON(status: status, jsonErrorBody(code: code, message: message))
    }

    /// Loop thread: the connection this response was for has gone (what tests wait on).
    var isAbandoned: Bool { transaction.value.state == .abandoned }

    /// Any thread: applies directly on the loop thread, else posts to it.
    private func deliver(status: Int, headers: [(String, String)], body: [UInt8]) {
        guard let loop else { return }
        let transaction = self.transaction
        if loop.isOnLoop {
            loop.startResponse(transaction.value, status: status, headers: headers, body: body)
        } else {
            loop.post { [weak loop] in
                loop?.startResponse(transaction.value, status: status, headers: headers, body: body)
            }
        }
    }
}

// MARK: - Internal per-connection state (loop thread only)

/// One accepted HTTP connection (lives in the wsi's ConnectionBox).
final class HTTPConnection {
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
    weak var connection: HTTPConnection?
    var state: State = .receivingBody
    let method: HTTPMethod
    let path: String
    let queryFragments: [String]
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
    init(id: UInt64, connection: HTTPConnection, method: HTTPMethod, path: String,
         queryFragments: [String], headers: [(String, String)], peerAddress: String) {
        self.id = id
        self.connection = connection
        self.method = method
        self.path = path
        self.queryFragments = queryFragments
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

// MARK: - HTTP callbacks (loop thread)

extension HubLoop {
    /// Loop thread (inside LWS_CALLBACK_HTTP, headers attached).
    private static func method(of wsi: OpaquePointer) -> HTTPMethod? {
        let table: [(lws_token_indexes, HTTPMethod)] = [
            (WSI_TOKEN_GET_URI, .GET), (WSI_TOKEN_POST_URI, .POST), (WSI_TOKEN_HEAD_URI, .HEAD),
            (WSI_TOKEN_PUT_URI, .PUT), (WSI_TOKEN_DELETE_URI, .DELETE), (WSI_TOKEN_PATCH_URI, .PATCH),
            (WSI_TOKEN_OPTIONS_URI, .OPTIONS),
        ]
        for (token, method) in table where lws_hdr_total_length(wsi, token) > 0 { return method }
        return nil
    }

    /// LWS_CALLBACK_HTTP (loop thread): headers are complete; `uri` is lws's decoded path.
    func httpRequestHeadersComplete(wsi: OpaquePointer, uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        preconditionOnLoop()
        let box = box(for: wsi)
        let connection = box.http ?? HTTPConnection(wsi: wsi)
        box.http = connection
        connection.wsi = wsi
        connection.current?.retire()

        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "/"
        nextTransactionID += 1
        let headers = LWSHeaders.capture(wsi, extra: config.extraRequestHeaders)
        let transaction = HTTPTransaction(
            id: nextTransactionID, connection: connection, method: HubLoop.method(of: wsi) ?? .GET,
            path: path, queryFragments: LWSHeaders.queryFragments(wsi), headers: headers,
            peerAddress: LWSHeaders.peerAddress(wsi))
        connection.current = transaction
        armRequestDeadline(transaction, connection: connection, box: box)

        func refuse(_ status: Int, _ code: String, _ message: String, extra: [(String, String)] = []) -> Int32 {
            startResponse(transaction, status: status, headers: [("Content-Type", "application/json")] + extra,
                          body: jsonErrorBody(code: code, message: message), closeAfter: true)
            return 0
        }
        if box.overAddressCap {
            limits.noteRefusedPerAddress()
            return refuse(429, "too_many_connections", "too many connections from \(transaction.peerAddress)")
        }
        guard HubLoop.method(of: wsi) != nil else {
            return refuse(405, "method_not_allowed", "method not supported")
        }
        let lengthHeader = headers.first { $0.0 == "content-length" }?.1
        let chunked = headers.contains { $0.0 == "transfer-encoding" }
        let bodyMethod = [.POST, .PUT, .PATCH].contains(transaction.method)
        if chunked {
            // lws 4.1 cannot read chunked request bodies. Answer and close.
            return refuse(411, "length_required", "a Content-Length header is required for a request body")
        }
        if bodyMethod && lengthHeader == nil {
            // RFC 9112 §6.3: no Content-Length and no Transfer-Encoding means an empty body
            // (`curl -X POST …/pause` sends exactly that). lws 4.1 would instead wait for up
            // to 100 MB of body, so whatever follows on this connection is not a new
            // request to lws: answer from the empty body now and close afterwards.
            transaction.closeAfterResponse = true
            dispatch(transaction, wsi: wsi)
            return 0
        }
        var contentLength = 0
        if let lengthHeader {
            guard let value = Int(lengthHeader.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                return refuse(400, "bad_request", "invalid Content-Length")
            }
            contentLength = value
        }
        if contentLength > max(8 * config.maxHTTPBodyBytes, 8 << 20) {
            // Far too big to be worth reading just to keep the connection: answer now, close.
            return refuse(413, "payload_too_large", "request body exceeds \(config.maxHTTPBodyBytes) bytes")
        }
        // lws itself calls HTTP_BODY + HTTP_BODY_COMPLETION for an explicit empty POST.
        guard contentLength > 0 || (lengthHeader != nil && transaction.method == .POST) else {
            dispatch(transaction, wsi: wsi)
            return 0
        }
        // Ask the handler (e.g. authenticate) before buffering a single body byte. Until it
        // answers, the socket is not read: what lws already read with the headers is all
        // that can arrive, and it counts against the global cap like any body byte.
        transaction.state = .admitting
        let head = HTTPRequestHead(method: transaction.method, path: path, headers: HTTPHeaders(headers),
                                   contentLength: contentLength, peerAddress: transaction.peerAddress)
        let decided = LoopSlot<HTTPAdmission?>(nil)
        let inline = LoopSlot(true)
        let target = LoopBound(transaction)
        let declaredLength = contentLength
        let ticket = HTTPAdmissionTicket { [weak self] admission in
            guard let self else { return }
            if self.isOnLoop && inline.value {
                decided.value = admission
            } else {
                self.post { [weak self] in self?.admitted(target.value, admission, contentLength: declaredLength) }
            }
        }
        guard let httpHandler else { return refuse(503, "unavailable", "server is stopping") }
        httpHandler.admit(head, ticket)
        inline.value = false
        if let admission = decided.value {
            admitted(transaction, admission, contentLength: contentLength)
        } else if transaction.state == .admitting {
            lws_rx_flow_control(wsi, 0)
            transaction.rxPaused = true
        }
        return 0
    }

    /// Loop thread: applies the admission decision for `transaction` (ignored when the
    /// request is no longer waiting for it: deadline passed, connection gone).
    private func admitted(_ transaction: HTTPTransaction, _ admission: HTTPAdmission, contentLength: Int) {
        guard transaction.state == .admitting, let wsi = transaction.connection?.wsi else { return }
        if transaction.rxPaused {
            transaction.rxPaused = false
            lws_rx_flow_control(wsi, 1)
        }
        let maxBody: Int
        switch admission {
        case .reject(let status, let code, let message):
            transaction.body = []
            startResponse(transaction, status: status, headers: [("Content-Type", "application/json")],
                          body: jsonErrorBody(code: code, message: message), closeAfter: true)
            return
        case .accept(let cap, let context):
            transaction.admissionContext = context
            if let cap, contentLength > cap {
                // A tight cap (e.g. the login form): answer without reading the body.
                transaction.body = []
                startResponse(transaction, status: 413, headers: [("Content-Type", "application/json")],
                              body: jsonErrorBody(code: "payload_too_large", message: "request body exceeds \(cap) bytes"),
                              closeAfter: true)
                return
            }
            maxBody = min(cap ?? config.maxHTTPBodyBytes, config.maxHTTPBodyBytes)
        }
        transaction.maxBodyBytes = maxBody
        if contentLength > maxBody {
            // Over the loop's limit (but not absurdly so): read and discard, so the 413
            // arrives on a connection that stays usable (closing with unread input resets it).
            transaction.bodyTooLarge = true
            transaction.body = []
            transaction.finishHolding()
        } else if !limits.canHold(contentLength - transaction.heldBytes) {
            limits.noteRefusedForCapacity()
            transaction.body = []
            startResponse(transaction, status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                          body: jsonErrorBody(code: "server_busy", message: "too many unfinished requests; retry shortly"),
                          closeAfter: true)
            return
        }
        transaction.state = .receivingBody
        if transaction.bodyComplete { _ = httpBodyComplete(wsi: wsi) }
    }

    /// LWS_CALLBACK_HTTP_BODY (loop thread).
    func httpBodyChunk(wsi: OpaquePointer, data: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        guard let transaction = existingBox(wsi)?.http?.current,
              transaction.state == .receivingBody || transaction.state == .admitting else { return 0 }
        guard !transaction.bodyTooLarge, let data, length > 0 else { return 0 }
        let cap = transaction.state == .admitting ? config.maxHTTPBodyBytes : transaction.maxBodyBytes
        if transaction.body.count + length > cap {
            transaction.bodyTooLarge = true
            transaction.body = []  // keep discarding; answer 413 at completion
            transaction.finishHolding()
            return 0
        }
        guard limits.canHold(length) else {
            // Server capacity, not the client's fault: 503, and stop reading this body.
            limits.noteRefusedForCapacity()
            transaction.body = []
            transaction.finishHolding()
            if transaction.state == .admitting { transaction.state = .receivingBody }
            startResponse(transaction, status: 503, headers: [("Content-Type", "application/json"), ("Retry-After", "1")],
                          body: jsonErrorBody(code: "server_busy", message: "too many unfinished requests; retry shortly"),
                          closeAfter: true)
            return 0
        }
        transaction.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
        limits.hold(length, for: transaction)
        return 0
    }

    /// LWS_CALLBACK_HTTP_BODY_COMPLETION (loop thread).
    func httpBodyComplete(wsi: OpaquePointer) -> Int32 {
        guard let transaction = existingBox(wsi)?.http?.current else { return 0 }
        if transaction.state == .admitting {
            transaction.bodyComplete = true  // finished once the decision arrives
            return 0
        }
        guard transaction.state == .receivingBody else { return 0 }
        if transaction.bodyTooLarge {
            startResponse(transaction, status: 413, headers: [("Content-Type", "application/json")],
                          body: jsonErrorBody(code: "payload_too_large",
                                              message: "request body exceeds \(transaction.maxBodyBytes) bytes"))
            return 0
        }
        dispatch(transaction, wsi: wsi)
        return 0
    }

    /// Loop thread: hands a complete request to the HTTPHandler.
    private func dispatch(_ transaction: HTTPTransaction, wsi: OpaquePointer) {
        transaction.state = .awaitingResponse
        transaction.finishReceiving()
        // lws's own 5 s content timeout is still armed: give the handler its own budget.
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(clamping: config.httpHandlerTimeoutSeconds))
        let items: [(name: String, value: String)] = transaction.queryFragments.map { fragment in
            if let eq = fragment.firstIndex(of: "=") {
                return (String(fragment[..<eq]), String(fragment[fragment.index(after: eq)...]))
            }
            return (fragment, "")
        }
        let request = HTTPRequest(
            method: transaction.method, path: transaction.path,
            query: transaction.queryFragments.joined(separator: "&"), queryItems: items,
            headers: HTTPHeaders(transaction.headers), body: transaction.body,
            peerAddress: transaction.peerAddress, admissionContext: transaction.admissionContext)
        transaction.body = []
        let responder = HTTPResponder(loop: self, transaction: transaction)
        guard let httpHandler else {
            responder.respondError(status: 503, code: "unavailable", message: "server is stopping")
            return
        }
        httpHandler.handle(request, responder)
    }

    /// Loop thread: queues a response for writing (no-op if the client went away or this
    /// transaction is no longer current).
    func startResponse(_ transaction: HTTPTransaction, status: Int, headers: [(String, String)],
                       body: [UInt8], closeAfter: Bool = false) {
        preconditionOnLoop()
        guard transaction.state == .awaitingResponse || transaction.state == .receivingBody
                || transaction.state == .admitting,
              let connection = transaction.connection, connection.current === transaction,
              let wsi = connection.wsi else { return }
        if transaction.state != .awaitingResponse {
            // Answered before the body was complete: the connection closes after this.
            transaction.finishReceiving()
            transaction.body = []
        }
        if transaction.rxPaused {
            transaction.rxPaused = false
            lws_rx_flow_control(wsi, 1)
        }
        transaction.state = .responding
        // A body still on the wire (413 after discarding is fully read; 411/400/405 are
        // not) cannot be skipped on keep-alive: those close after the response.
        let hasBody = HubLoop.statusAllowsBody(status)
        transaction.output = HTTPOutput(
            status: status, headers: headers, body: hasBody ? body : [],
            sendBody: transaction.method != .HEAD && hasBody, closeAfter: closeAfter || transaction.closeAfterResponse)
        lws_callback_on_writable(wsi)
    }

    /// LWS_CALLBACK_HTTP_WRITEABLE (loop thread): writes headers (+ the start of the body), then one
    /// body chunk per callback, then completes the transaction (keep-alive).
    func httpWriteable(wsi: OpaquePointer) -> Int32 {
        guard let connection = existingBox(wsi)?.http, let transaction = connection.current,
              transaction.state == .responding, var output = transaction.output else { return 0 }
        let base = (scratch + lwsPre).assumingMemoryBound(to: UInt8.self)
        let end = base + scratchCapacity
        var p: UnsafeMutablePointer<UInt8>? = base

        if !output.headersSent {
            let failed = appendResponseHead(wsi, status: output.status, headers: output.headers,
                                            bodyLength: output.body.count, closeAfter: output.closeAfter, &p, end)
            if failed { return -1 }
            output.headersSent = true
            guard var cursor = p else { return -1 }
            if output.sendBody {
                let n = min(output.body.count, end - cursor)
                output.body.withUnsafeBytes { raw in
                    if n > 0 { UnsafeMutableRawPointer(cursor).copyMemory(from: raw.baseAddress!, byteCount: n) }
                }
                cursor += n
                output.bodyOffset = n
            }
            if lws_write(wsi, base, cursor - base, LWS_WRITE_HTTP_HEADERS) < 0 { return -1 }
        } else if output.sendBody && output.bodyOffset < output.body.count {
            let n = min(output.body.count - output.bodyOffset, scratchCapacity)
            let isLast = output.bodyOffset + n == output.body.count
            output.body.withUnsafeBytes { raw in
                UnsafeMutableRawPointer(base).copyMemory(from: raw.baseAddress! + output.bodyOffset, byteCount: n)
            }
            output.bodyOffset += n
            if lws_write(wsi, base, n, isLast ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0 { return -1 }
        }

        if output.sendBody && output.bodyOffset < output.body.count {
            transaction.output = output
            lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(clamping: config.ioTimeoutSeconds))
            lws_callback_on_writable(wsi)
            return 0
        }
        // Done. lws defers the completion itself while a partial write is still buffered.
        transaction.output = nil
        transaction.state = .done
        connection.current = nil
        lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0)
        if output.closeAfter { return -1 }
        return lws_http_transaction_completed(wsi) != 0 ? -1 : 0
    }

    /// Loop thread. Status line + headers (+ Content-Length unless the status forbids a body) + the
    /// final blank line. No lws default "Server:" header.
    /// Returns true on failure (buffer too small).
    func appendResponseHead(_ wsi: OpaquePointer, status: Int, headers: [(String, String)], bodyLength: Int,
                            closeAfter: Bool, _ p: inout UnsafeMutablePointer<UInt8>?,
                            _ end: UnsafeMutablePointer<UInt8>) -> Bool {
        let statusCode = UInt32(clamping: status) | UInt32(LWSAHH_FLAG_NO_SERVER_NAME)
        if lws_add_http_header_status(wsi, statusCode, &p, end) != 0 { return true }
        if HubLoop.statusAllowsBody(status) {
            // Also arms lws's tx_content_length accounting.
            if lws_add_http_header_content_length(wsi, lws_filepos_t(bodyLength), &p, end) != 0 { return true }
        }
        let managed: Set<String> = ["content-length", "connection", "transfer-encoding"]
        for (name, value) in headers where !managed.contains(name.lowercased()) {
            if addHeader(wsi, name: name, value: value, &p, end) { return true }
        }
        if closeAfter, addHeader(wsi, name: "Connection", value: "close", &p, end) { return true }
        return lws_finalize_http_header(wsi, &p, end) != 0
    }

    /// 1xx, 204 and 304 responses carry no body and no Content-Length.
    static func statusAllowsBody(_ status: Int) -> Bool {
        !(100..<200 ~= status || status == 204 || status == 304)
    }

    /// Loop thread. Appends "name: value" via lws (h1 formatting). Returns true on failure.
    private func addHeader(_ wsi: OpaquePointer, name: String, value: String,
                           _ p: inout UnsafeMutablePointer<UInt8>?, _ end: UnsafeMutablePointer<UInt8>) -> Bool {
        let nameBytes = Array((name.hasSuffix(":") ? name : name + ":").utf8) + [0]
        let valueBytes = Array(value.utf8) + [0]
        return nameBytes.withUnsafeBufferPointer { n in
            valueBytes.withUnsafeBufferPointer { v in
                lws_add_http_header_by_name(wsi, n.baseAddress, v.baseAddress, Int32(v.count - 1), &p, end) != 0
            }
        }
    }

    /// Loop thread. Writes a complete small response right away. Only used where lws expects the
    /// callback itself to have answered (HTTP_CONFIRM_UPGRADE returning 1), like lws's own
    /// lws_return_http_status; lws buffers any part the socket does not take. The head is
    /// written here, not with lws_add_http_header_status: before an upgrade lws has not
    /// recorded the request's version and would answer "HTTP/1.0". The connection closes
    /// after this (returning 1 hangs up), so the answer says `Connection: close`.
    func writeImmediateResponse(wsi: OpaquePointer, status: Int, headers: [(String, String)], body: [UInt8]) -> Bool {
        var allHeaders = headers.filter { !["content-length", "connection", "transfer-encoding"].contains($0.0.lowercased()) }
        if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            allHeaders.append(("Content-Type", "application/json"))
        }
        let sent = HubLoop.statusAllowsBody(status) ? body : []
        var head = "HTTP/1.1 \(status) \(HubLoop.reasonPhrase(status))\r\n"
        for (name, value) in allHeaders where !name.contains(where: \.isNewline) && !value.contains(where: \.isNewline) {
            head += "\(name): \(value)\r\n"
        }
        if HubLoop.statusAllowsBody(status) { head += "Content-Length: \(sent.count)\r\n" }
        head += "Connection: close\r\n\r\n"
        let bytes = Array(head.utf8) + sent
        guard bytes.count <= scratchCapacity else { return false }
        let base = (scratch + lwsPre).assumingMemoryBound(to: UInt8.self)
        bytes.withUnsafeBytes { raw in UnsafeMutableRawPointer(base).copyMemory(from: raw.baseAddress!, byteCount: bytes.count) }
        // h1 only (upgrades are h1): LWS_WRITE_HTTP_HEADERS sends the bytes as they are.
        return lws_write(wsi, base, bytes.count, LWS_WRITE_HTTP_HEADERS) >= 0
    }

    /// The reason phrase for the statuses this loop writes by hand (the code is what counts).
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 421: return "Misdirected Request"
        case 429: return "Too Many Requests"
        case 503: return "Service Unavailable"
        default: return "Error"
        }
    }
}
