import CLibWebSockets
import Foundation
import HubCore

/// The WebSocket server: one `switch reason` over the upgrade and WebSocket callbacks of
/// an accepted connection. Per-session state: `Connection.webSocket` (a `WebSocketSession`).
extension HubLoop {
    /// Loop thread.
    func webSocketCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                           input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return confirmUpgrade(wsi: wsi, upgrade: input)
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            // Only after CONFIRM_UPGRADE accepted it may the connection carry WebSocket traffic.
            return Connection.of(wsi)?.webSocket != nil ? 0 : 1
        case LWS_CALLBACK_ESTABLISHED:
            return webSocketEstablished(wsi: wsi)
        case LWS_CALLBACK_RECEIVE:
            guard let session = Connection.of(wsi)?.webSocket else { return -1 }
            return session.handleReceive(wsi: wsi, data: input, length: length)
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let session = Connection.of(wsi)?.webSocket else { return -1 }
            return session.handleWriteable(wsi: wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let session = Connection.of(wsi)?.webSocket, let input, length >= 2 {
                let bytes = input.assumingMemoryBound(to: UInt8.self)
                session.peerCloseCode = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            }
            return 0
        case LWS_CALLBACK_CLOSED:
            if let session = Connection.of(wsi)?.webSocket { webSocketClosed(session) }
            return 0
        default:
            return 0
        }
    }

    /// LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (loop thread): the last moment the request is still
    /// HTTP. The transport's checks (`UpgradePolicy`) and `shouldAccept` happen here so that
    /// a refusal is a real HTTP response. Returns 0 to continue the upgrade, 1 after writing
    /// a refusal, -1 to hang up.
    private func confirmUpgrade(wsi: OpaquePointer, upgrade: UnsafeMutableRawPointer?) -> Int32 {
        preconditionOnLoop()
        guard let owner = Connection.of(wsi) else { return -1 }
        func refuse(_ status: Int, _ code: String, _ message: String) -> Int32 {
            _ = writeImmediateResponse(wsi: wsi, status: status, headers: [],
                                       body: jsonErrorBody(code: code, message: message))
            return 1
        }
        let kind = upgrade.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
        var uri: UnsafeMutablePointer<CChar>?
        var uriLength: Int32 = 0
        var path = ""
        if lws_http_get_uri_and_method(wsi, &uri, &uriLength) >= 0, let uri {
            path = String(decoding: UnsafeRawBufferPointer(start: uri, count: Int(uriLength)), as: UTF8.self)
        }
        let headers = HTTPHeaders(LWSHeaders.capture(wsi, extra: config.extraRequestHeaders))
        if let refusal = upgradePolicy.check(upgrade: kind, path: path,
                                             offeredSubprotocols: headers["sec-websocket-protocol"]) {
            return refuse(refusal.status, refusal.code, refusal.message)
        }
        let query = DecodedQuery(fragments: LWSHeaders.queryFragments(wsi))
        let request = UpgradeRequest(
            path: path, query: query.text, queryItems: query.items,
            headers: headers, requestedSubprotocols: headers["sec-websocket-protocol"],
            peerAddress: LWSHeaders.peerAddress(wsi))
        guard let handler = webSocketHandler else { return -1 }
        switch handler.shouldAccept(request) {
        case .reject(let status, let extraHeaders, let body):
            return writeImmediateResponse(wsi: wsi, status: status, headers: extraHeaders, body: body) ? 1 : -1
        case .accept(let userInfo):
            owner.http?.detach()
            owner.http = nil
            owner.webSocket = WebSocketSession(id: sessionIDs.take(), loop: self, wsi: wsi, userInfo: userInfo, request: request)
            return 0
        }
    }

    /// LWS_CALLBACK_ESTABLISHED (loop thread).
    private func webSocketEstablished(wsi: OpaquePointer) -> Int32 {
        preconditionOnLoop()
        guard let session = Connection.of(wsi)?.webSocket else { return -1 }
        session.opened = true
        if config.socketSendBufferBytes > 0 {
            var size = Int32(clamping: config.socketSendBufferBytes)
            setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        sessions[session.id] = session
        webSocketHandler?.didOpen(session)
        return 0
    }

    /// LWS_CALLBACK_CLOSED, or WSI_DESTROY without CLOSED (loop thread).
    func webSocketClosed(_ session: WebSocketSession) {
        sessions.removeValue(forKey: session.id)
        if session.markClosed() {
            webSocketHandler?.didClose(session)
        }
        // After didClose: nothing holds this id any more but reads and timers in flight,
        // and the slot's next id differs from it in its generation.
        sessionIDs.giveBack(session.id)
    }
}
