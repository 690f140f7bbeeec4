import CLibWebSockets
import Foundation

/// The lws callback of protocol 0, which carries every accepted connection: plain HTTP and
/// our WebSocket subprotocol (lws sends both to the vhost's first protocol). Runs on the
/// loop thread (and, for lifecycle reasons such as PROTOCOL_INIT, on the thread creating
/// the context).
let lwsConnectionCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard !isPollBookkeeping(reason), let wsi, let loop = HubLoop.owning(wsi) else { return 0 }
    return loop.dispatch(.connection, wsi: wsi, reason: reason, input: input, length: length)
}

extension HubLoop {
    /// The HubLoop whose context `wsi` belongs to (the context user pointer). Any lws callback.
    static func owning(_ wsi: OpaquePointer) -> HubLoop? {
        guard let ctx = lws_get_context(wsi), let user = lws_context_user(ctx) else { return nil }
        // Unretained: the service thread keeps the loop alive while lws runs callbacks.
        return Unmanaged<HubLoop>.fromOpaque(user).takeUnretainedValue()
    }

    /// The lws protocols this loop registers, one callback each.
    enum CallbackProtocol { case connection, adoptedDescriptor }

    /// Every lws callback of this loop begins and ends here (one place to time them).
    /// Loop thread.
    func dispatch(_ proto: CallbackProtocol, wsi: OpaquePointer, reason: lws_callback_reasons,
                  input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        // -- dispatch begins
        let start = StallMeter.now()
        defer { core.stall.record(since: start) }
        let result: Int32
        switch proto {
        case .connection: result = connectionCallback(wsi: wsi, reason: reason, input: input, length: length)
        case .adoptedDescriptor: result = adoptedDescriptorCallback(wsi: wsi, reason: reason, input: input, length: length)
        }
        // -- dispatch ends
        return result
    }

    /// Loop thread. The connection's lifecycle; HTTP and WebSocket reasons go to their own
    /// callbacks (HTTPCallback.swift, WebSocketCallback.swift).
    private func connectionCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                                    input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            if core.isOnLoop { core.drainPending() }
            return 0
        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
            // Inside `adoptAccepted`: the socket's Connection takes the user slot.
            if let connection = adopting {
                adopting = nil
                connection.attach(to: wsi)
            }
            return 0
        case LWS_CALLBACK_HTTP, LWS_CALLBACK_HTTP_BODY, LWS_CALLBACK_HTTP_BODY_COMPLETION,
             LWS_CALLBACK_HTTP_WRITEABLE, LWS_CALLBACK_CLOSED_HTTP:
            return httpCallback(wsi: wsi, reason: reason, input: input, length: length)
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION,
             LWS_CALLBACK_ESTABLISHED, LWS_CALLBACK_RECEIVE, LWS_CALLBACK_SERVER_WRITEABLE,
             LWS_CALLBACK_WS_PEER_INITIATED_CLOSE, LWS_CALLBACK_CLOSED:
            return webSocketCallback(wsi: wsi, reason: reason, input: input, length: length)
        case LWS_CALLBACK_WSI_DESTROY:
            connectionDestroyed(wsi: wsi)
            return 0
        default:
            return 0
        }
    }

    /// Hands a connection whose first head passed the `Acceptor` to lws; the head is still
    /// queued on the socket, and lws reads it as if it had accepted the socket. Loop thread.
    func adoptAccepted(_ socket: AcceptedSocket) {
        preconditionOnLoop()
        let connection = Connection(acceptedAt: socket.acceptedAt, countedAddress: socket.address)
        guard let vh = vhost else {
            close(socket.fd)
            limits.connectionClosed(address: socket.address)
            return
        }
        adopting = connection
        // SERVER_NEW_CLIENT_INSTANTIATED, inside this call, puts the Connection in the slot.
        let wsi = lws_adopt_socket_vhost(vh, socket.fd)
        if adopting != nil {
            // No wsi was created, so WSI_DESTROY will not release the slot. lws fails before
            // creating the wsi only when its fd table is full, which an fd that accept()
            // returned cannot hit; later failures close the fd themselves.
            adopting = nil
            limits.connectionClosed(address: socket.address)
        }
        _ = wsi  // nil: lws closed it (WSI_DESTROY released the Connection)
    }

    /// WSI_DESTROY (loop thread): releases what the connection held, then the Connection.
    private func connectionDestroyed(wsi: OpaquePointer) {
        guard let connection = Connection.detach(from: wsi) else { return }
        limits.connectionClosed(address: connection.countedAddress)
        connection.http?.detach()
        if let session = connection.webSocket, session.wsi != nil { webSocketClosed(session) }
    }
}
