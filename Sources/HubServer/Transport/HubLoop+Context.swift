import CLibWebSockets
import Foundation

/// Context setup: the lws context, the vhost that carries client connections and the
/// vhost of adopted descriptors. Init thread (before any service thread exists).
extension HubLoop {
    /// Init thread.
    func createContext() throws {
        // lws takes an interface name or an address literal, not a host name.
        let host = config.host == "localhost" ? "127.0.0.1" : config.host
        let hostIsIPv6 = host.contains(":")
        let anyAddress = host == "0.0.0.0" || host == "::" || host.isEmpty

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
        info.max_http_header_data = UInt16(clamping: config.maxHeaderBytes)
        info.server_string = cStrings.make("collection-hub")
        info.retry_and_idle_policy = UnsafePointer(retryPolicy)
        guard let ctx = lws_create_context(&info) else { throw HubLoopError.contextCreationFailed }
        core.attach(context: ctx)

        var vinfo = lws_context_creation_info()
        vinfo.vhost_name = cStrings.make("chub")
        vinfo.port = Int32(config.port)
        vinfo.iface = anyAddress ? nil : cStrings.make(host)
        vinfo.protocols = UnsafePointer(connectionProtocols)
        vinfo.options = UInt64(LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND) | UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        if !hostIsIPv6 { vinfo.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        vinfo.keepalive_timeout = Int32(clamping: config.httpKeepAliveSeconds)
        vinfo.timeout_secs = UInt32(clamping: config.ioTimeoutSeconds)
        // Bounds a header block once lws attaches its header table. The request deadline
        // itself is ours (RequestDeadline.swift): lws re-arms its body timer at every chunk.
        vinfo.timeout_secs_ah_idle = UInt32(clamping: config.requestDeadlineSeconds)
        vinfo.retry_and_idle_policy = UnsafePointer(retryPolicy)
        guard let vh = lws_create_vhost(ctx, &vinfo) else {
            core.stop()  // destroys the context (never started)
            if HubLoop.portIsBusy(host: host, port: config.port) {
                throw HubLoopError.portInUse(host: config.host, port: config.port)
            }
            throw HubLoopError.listenFailed(host: config.host, port: config.port, reason: "lws could not create the listener")
        }
        vhost = vh
        listenPort = Int(lws_get_vhost_listen_port(vh))

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

    /// Any thread. Tells a port clash apart from other listen failures (lws only says "failed").
    static func portIsBusy(host: String, port: Int) -> Bool {
        guard port != 0 else { return false }
        let v6 = host.contains(":")
        let fd = socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if v6 {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET6, host == "::" ? "::" : host, &addr.sin6_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET, host.isEmpty ? "0.0.0.0" : host, &addr.sin_addr)
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        return rc != 0 && errno == EADDRINUSE
    }
}
