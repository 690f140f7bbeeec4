import CLibWebSockets
import Foundation

/// Writing HTTP responses: queued by `startResponse`, written at HTTP_WRITEABLE. Loop thread.
extension HubLoop {
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
        guard let connection = Connection.of(wsi)?.http, let transaction = connection.current,
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
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 421: return "Misdirected Request"
        case 429: return "Too Many Requests"
        case 431: return "Request Header Fields Too Large"
        case 503: return "Service Unavailable"
        default: return "Error"
        }
    }
}
