import CLibWebSockets
import Foundation

/// The HTTP/1 server: one `switch reason` over the HTTP callbacks of an accepted
/// connection. Per-session state: `Connection.http` (an `HTTPSession` and the
/// `HTTPTransaction` it is receiving or answering). Responses: HTTPResponseWriter.swift.
extension HubLoop {
    /// Loop thread.
    func httpCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                      input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_HTTP:
            return httpRequestHeadersComplete(wsi: wsi, uri: input, length: length)
        case LWS_CALLBACK_HTTP_BODY:
            return httpBodyChunk(wsi: wsi, data: input, length: length)
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            return httpBodyComplete(wsi: wsi)
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return httpWriteable(wsi: wsi)
        case LWS_CALLBACK_CLOSED_HTTP:
            Connection.of(wsi)?.http?.detach()
            return 0
        default:
            return 0
        }
    }

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
    private func httpRequestHeadersComplete(wsi: OpaquePointer, uri: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        preconditionOnLoop()
        guard let owner = Connection.of(wsi) else { return -1 }
        let connection = owner.http ?? HTTPSession(wsi: wsi)
        owner.http = connection
        connection.wsi = wsi
        connection.current?.retire()

        let path = uri.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self) } ?? "/"
        nextTransactionID += 1
        let headers = LWSHeaders.capture(wsi, extra: config.extraRequestHeaders)
        let transaction = HTTPTransaction(
            id: nextTransactionID, connection: connection, method: HubLoop.method(of: wsi) ?? .GET,
            path: path, query: DecodedQuery(fragments: LWSHeaders.queryFragments(wsi)), headers: headers,
            peerAddress: LWSHeaders.peerAddress(wsi))
        connection.current = transaction
        armRequestDeadline(transaction, session: connection, connection: owner)

        func refuse(_ status: Int, _ code: String, _ message: String, extra: [(String, String)] = []) -> Int32 {
            startResponse(transaction, status: status, headers: [("Content-Type", "application/json")] + extra,
                          body: jsonErrorBody(code: code, message: message), closeAfter: true)
            return 0
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
            dispatchRequest(transaction, wsi: wsi)
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
            dispatchRequest(transaction, wsi: wsi)
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
    private func httpBodyChunk(wsi: OpaquePointer, data: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        guard let transaction = Connection.of(wsi)?.http?.current,
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
    private func httpBodyComplete(wsi: OpaquePointer) -> Int32 {
        guard let transaction = Connection.of(wsi)?.http?.current else { return 0 }
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
        dispatchRequest(transaction, wsi: wsi)
        return 0
    }

    /// Loop thread: hands a complete request to the HTTPHandler.
    private func dispatchRequest(_ transaction: HTTPTransaction, wsi: OpaquePointer) {
        transaction.state = .awaitingResponse
        transaction.finishReceiving()
        // lws's own 5 s content timeout is still armed: give the handler its own budget.
        lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, Int32(clamping: config.httpHandlerTimeoutSeconds))
        let request = HTTPRequest(
            method: transaction.method, path: transaction.path,
            query: transaction.query.text, queryItems: transaction.query.items,
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
}
