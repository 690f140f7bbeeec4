import CLibWebSockets
import Foundation

/// Context setup: the lws context, the vhost that carries client connections and the
/// vhost of adopted descriptors. Init thread (before any service thread exists).
extension HubLoop {
    /// Init thread.
    func createContext() throws {
        let hostIsIPv6 = config.host.contains(":")

        // Two zero-terminated lists: [connection, 0] for the client vhost, [raw, 0] for the
        // adopted-descriptor vhost. Connection protocol: HTTP and our WebSocket subprotocol
        // on one entry; lws sends plain HTTP and "no Sec-WebSocket-Protocol" upgrades to the
        // vhost's default protocol, index 0.
        let connectionProtocols = protocols
        let rawProtocols = protocols + 2
        connectionProtocols[0].name = cStrings.make(config.wsProtocolName)
        connectionProtocols[0].callback = lwsConnectionCallback
        connectionProtocols[0].per_session_data_size = 0  // per-connection state: `Connection`, in the user slot
        connectionProtocols[0].rx_buffer_size = config.wsRxBufferBytes
        connectionProtocols[0].id = HubLoop.mainProtocolID
        // A whole frame (header + payload) goes to the kernel in one send(). Without this,
        // lws 4.1 slices every write into rx_buffer_size pieces, one POLLOUT each.
        connectionProtocols[0].tx_packet_size = max(config.maxFrameBytes, 64 * 1024) + 64
        let rawName = cStrings.make(HubLoop.rawProtocolName)
        rawProtocolNamePointer = rawName
        rawProtocols[0].name = rawName
        rawProtocols[0].callback = lwsAdoptedDescriptorCallback
        rawProtocols[0].id = HubLoop.rawProtocolID

        retryPolicy.pointee.secs_since_valid_ping = UInt16(clamping: config.wsPingIntervalSeconds)
        retryPolicy.pointee.secs_since_valid_hangup = UInt16(clamping: config.wsHangupSeconds)

        var info = lws_context_creation_info()
        info.options = UInt64(LWS_SERVER_OPTION_EXPLICIT_VHOSTS) | UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        if !hostIsIPv6 { info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(connectionProtocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.pt_serv_buf_size = 64 * 1024
        info.timeout_secs = UInt32(clamping: config.ioTimeoutSeconds)
        // The first head is bounded by the Acceptor (`maxHeaderBytes`, raw). lws stores a
        // head differently (8 bytes of bookkeeping per unknown header), so its own table is
        // larger and never the one that refuses a head the Acceptor let through.
        info.max_http_header_data = UInt16(clamping: min(65535, 3 * config.maxHeaderBytes + 1024))
        info.server_string = cStrings.make("collection-hub")
        info.retry_and_idle_policy = UnsafePointer(retryPolicy)
        guard let ctx = lws_create_context(&info) else { throw HubLoopError.contextCreationFailed }
        core.attach(context: ctx)

        // The client vhost listens on nothing: the `Acceptor` accepts on the hub's own
        // socket and adopts each connection into it once its first head has passed.
        var vinfo = lws_context_creation_info()
        vinfo.vhost_name = cStrings.make("chub")
        vinfo.port = CONTEXT_PORT_NO_LISTEN_SERVER
        vinfo.protocols = UnsafePointer(connectionProtocols)
        vinfo.options = UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        if !hostIsIPv6 { vinfo.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        vinfo.keepalive_timeout = Int32(clamping: config.httpKeepAliveSeconds)
        vinfo.timeout_secs = UInt32(clamping: config.ioTimeoutSeconds)
        // Bounds a keep-alive request's header block once lws attaches its header table.
        // The request deadline itself is ours (RequestDeadline.swift): lws re-arms its body
        // timer at every chunk.
        vinfo.timeout_secs_ah_idle = UInt32(clamping: config.requestDeadlineSeconds)
        vinfo.retry_and_idle_policy = UnsafePointer(retryPolicy)
        guard let vh = lws_create_vhost(ctx, &vinfo) else {
            core.stop()  // destroys the context (never started)
            throw HubLoopError.contextCreationFailed
        }
        vhost = vh

        var rinfo = lws_context_creation_info()
        rinfo.vhost_name = cStrings.make("chub-raw")
        rinfo.port = CONTEXT_PORT_NO_LISTEN
        rinfo.protocols = UnsafePointer(rawProtocols)
        guard let raw = lws_create_vhost(ctx, &rinfo) else {
            core.stop()
            throw HubLoopError.contextCreationFailed
        }
        rawVhost = raw
    }
}
