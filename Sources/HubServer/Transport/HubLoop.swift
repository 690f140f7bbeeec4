import CLibWebSockets
import Foundation

/// The single-threaded HTTP + WebSocket transport: ONE libwebsockets context serviced by
/// ONE thread ("the loop").
///
/// Threading rules:
/// - Everything that touches lws runs on the loop thread: every handler callback
///   (`HTTPHandler`, `WebSocketHandler`), every `WebSocketSession` method, timers,
///   adopted descriptors. `preconditionOnLoop()` asserts it.
/// - Other threads reach the loop only through `post(_:)` (a mutex-protected queue plus
///   `lws_cancel_service`, drained at `LWS_CALLBACK_EVENT_WAIT_CANCELLED`),
///   `HTTPResponder.respond` (which posts) and `stop()`.
// @unchecked Sendable: any-thread entry points (post, schedule, stop) go through LoopCore; the rest runs on the loop thread.
public final class HubLoop: @unchecked Sendable {
    /// lws_protocols.id values telling our two protocols apart inside callbacks.
    static let mainProtocolID: UInt32 = 0xC4B1
    static let rawProtocolID: UInt32 = 0xC4B2
    static let rawProtocolName = "chub-raw-descriptor"

    /// The configuration the loop was created with.
    public let config: HubLoopConfig
    let core = LoopCore(threadName: "chub-hub-lws")

    // Loop thread only; released once the context is destroyed (breaks handler↔loop cycles).
    var httpHandler: HTTPHandler?
    var webSocketHandler: WebSocketHandler?

    private let cStrings = CStringArena()
    private let protocols: UnsafeMutablePointer<lws_protocols>
    private let retryPolicy: UnsafeMutablePointer<lws_retry_bo_t>
    private var rawProtocolNamePointer: UnsafePointer<CChar>?
    private(set) var vhost: OpaquePointer?
    private var listenPort: Int = 0

    /// Loop-thread scratch buffer (`lwsPre` + `scratchCapacity` bytes) reused by writes.
    let scratch: UnsafeMutableRawPointer
    let scratchCapacity: Int

    // Loop thread only.
    var nextSessionID: UInt64 = 0
    var nextTransactionID: UInt64 = 0
    /// Established WebSocket sessions by id.
    var sessions: [UInt64: WebSocketSession] = [:]
    var timers: [ObjectIdentifier: TimerHandle] = [:]
    var adopted: [ObjectIdentifier: AdoptedDescriptor] = [:]
    /// Bounds on unfinished request bodies and connections per address.
    let limits: RequestLimits

    /// Creates the lws context and binds the listening socket (so a port clash is reported
    /// here, as `HubLoopError.portInUse`), but services nothing until `start()`.
    /// Any thread.
    public init(config: HubLoopConfig, http: HTTPHandler, websocket: WebSocketHandler) throws {
        _ = lwsLoggingConfigured
        guard config.maxFrameBytes >= 1024 else {
            throw HubLoopError.invalidConfig("maxFrameBytes must be at least 1024")
        }
        guard config.maxIncomingMessageBytes > 0, config.maxHTTPBodyBytes >= 0, config.wsRxBufferBytes >= 256 else {
            throw HubLoopError.invalidConfig("message/body/buffer limits too small")
        }
        guard (0...65535).contains(config.port) else { throw HubLoopError.invalidConfig("port out of range") }
        guard config.wsPingIntervalSeconds == 0 || config.wsHangupSeconds > config.wsPingIntervalSeconds else {
            throw HubLoopError.invalidConfig("wsHangupSeconds must exceed wsPingIntervalSeconds")
        }
        guard config.requestDeadlineSeconds >= 1, config.maxHeldRequestBytes >= 0, config.maxConnectionsPerAddress >= 0 else {
            throw HubLoopError.invalidConfig("request deadline, held-bytes cap or per-address cap out of range")
        }
        self.config = config
        self.limits = RequestLimits(maxHeldBytes: config.maxHeldRequestBytes,
                                    maxConnectionsPerAddress: config.maxConnectionsPerAddress)
        self.httpHandler = http
        self.webSocketHandler = websocket
        self.scratchCapacity = max(config.maxFrameBytes, 64 * 1024) + 16 * 1024
        self.scratch = UnsafeMutableRawPointer.allocate(byteCount: lwsPre + scratchCapacity, alignment: 16)
        self.protocols = .allocate(capacity: 3)
        self.protocols.initialize(repeating: lws_protocols(), count: 3)
        self.retryPolicy = .allocate(capacity: 1)
        self.retryPolicy.initialize(to: lws_retry_bo_t())
        core.afterDestroy = { [unowned self] in self.afterContextDestroyed() }
        core.beforeDestroy = { [unowned self] in self.gracefulShutdown() }
        try createContext()
    }

    deinit {
        // Only reachable when no service thread runs (a running thread keeps us alive).
        // The hooks reference `self` unowned: drop them before a never-started teardown.
        core.beforeDestroy = nil
        core.afterDestroy = nil
        core.stop()
        protocols.deinitialize(count: 3)
        protocols.deallocate()
        retryPolicy.deinitialize(count: 1)
        retryPolicy.deallocate()
        scratch.deallocate()
    }

    /// The port actually listened on (the ephemeral one when `config.port` is 0).
    public var boundPort: Int { listenPort }

    /// Number of established WebSocket sessions. Loop thread.
    public var sessionCount: Int {
        preconditionOnLoop()
        return sessions.count
    }

    // MARK: - Lifecycle (any thread)

    /// Spawns the service thread. Throws `notStartable` if called twice or after `stop()`.
    public func start() throws {
        do {
            try core.start(owner: self)
        } catch LoopStartError.threadCreationFailed(let rc) {
            throw HubLoopError.threadCreationFailed(rc)
        } catch {
            throw HubLoopError.notStartable
        }
    }

    /// Stops the loop: open sessions get a 1001 close (bounded by
    /// `config.shutdownGracePeriod`), every connection is closed, the context destroyed and
    /// the service thread joined. Thread-safe and idempotent. Called on the loop thread it
    /// only requests the stop (a thread cannot join itself).
    public func stop() {
        core.stop()
    }

    /// True on the loop's service thread.
    public var isOnLoop: Bool { core.isOnLoop }

    /// Traps unless called on the loop's service thread.
    public func preconditionOnLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(core.isOnLoop, "must run on the HubLoop service thread", file: file, line: line)
    }

    /// Runs `work` on the loop thread (soon, in FIFO order). Any thread. Work posted after
    /// `stop()` is dropped.
    public func post(_ work: @escaping @Sendable () -> Void) {
        core.post(work)
    }

    // MARK: - Timers (loop thread)

    /// Runs `work` on the loop thread after `delay` (lws_sul_schedule). Loop thread.
    /// Keep the handle to cancel; dropping it does not cancel.
    @discardableResult
    public func schedule(after delay: Duration, _ work: @escaping () -> Void) -> TimerHandle {
        preconditionOnLoop()
        let handle = TimerHandle(loop: self, work: work)
        guard let ctx = core.context else { return handle }  // stopping: never fires
        timers[ObjectIdentifier(handle)] = handle
        handle.isScheduled = true
        lws_sul_schedule(ctx, 0, handle.sul, timerFired, microseconds(delay))
        return handle
    }

    /// Loop thread.
    func cancelTimer(_ handle: TimerHandle) {
        preconditionOnLoop()
        guard handle.isScheduled else { return }
        handle.isScheduled = false
        lws_sul_cancel(handle.sul)
        handle.work = nil
        timers.removeValue(forKey: ObjectIdentifier(handle))
    }

    /// Loop thread (from the lws_sul callback).
    func fireTimer(_ handle: TimerHandle) {
        guard handle.isScheduled, let work = handle.work else { return }
        handle.isScheduled = false
        handle.work = nil
        // `handle` stays alive through this local while `work` runs.
        timers.removeValue(forKey: ObjectIdentifier(handle))
        work()
    }

    // MARK: - Adopted descriptors (loop thread)

    /// Watches `fd` for readability on the loop (lws raw-file adoption). Loop thread.
    ///
    /// Ownership: on success the loop owns `fd` and closes it when the adoption ends
    /// (`AdoptedDescriptor.close()`, hangup, or `stop()`): pass a `dup()` of a descriptor
    /// someone else owns (e.g. `dup(PQsocket(conn))`). On throw the caller still owns `fd`.
    ///
    /// `onReadable` runs on the loop each time the descriptor polls readable (level
    /// triggered: consume the data or it fires again). `onClosed` runs once if lws drops
    /// the descriptor for any reason other than `close()` (hangup, error, loop stop).
    public func adoptReadable(
        fd: Int32,
        onReadable: @escaping () -> Void,
        onClosed: @escaping () -> Void
    ) throws -> AdoptedDescriptor {
        preconditionOnLoop()
        guard let vh = vhost, core.context != nil else { throw HubLoopError.notRunning }
        let descriptor = AdoptedDescriptor(loop: self, fd: fd, onReadable: onReadable, onClosed: onClosed)
        adopted[ObjectIdentifier(descriptor)] = descriptor
        var info = lws_adopt_desc_t()
        info.vh = vh
        info.type = LWS_ADOPT_RAW_FILE_DESC
        info.fd.filefd = fd
        info.vh_prot_name = rawProtocolNamePointer
        info.opaque = Unmanaged.passUnretained(descriptor).toOpaque()  // registry keeps it alive
        guard let wsi = lws_adopt_descriptor_vhost_via_info(&info) else {
            adopted.removeValue(forKey: ObjectIdentifier(descriptor))
            descriptor.detach()
            throw HubLoopError.adoptFailed(fd: fd)
        }
        descriptor.wsi = wsi
        return descriptor
    }

    /// Loop thread.
    func closeAdopted(_ descriptor: AdoptedDescriptor) {
        preconditionOnLoop()
        guard let wsi = descriptor.wsi else { return }
        if descriptor.inCallback {
            return  // the RX callback sees closeRequested and returns -1
        }
        // Asynchronous kill: lws closes it on its next timer pass, never under our feet.
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
    }

    // MARK: - Context creation (init thread)

    /// Init thread (before any service thread exists).
    private func createContext() throws {
        // lws takes an interface name or an address literal, not a host name.
        let host = config.host == "localhost" ? "127.0.0.1" : config.host
        let hostIsIPv6 = host.contains(":")
        let anyAddress = host == "0.0.0.0" || host == "::" || host.isEmpty

        // Protocol 0: HTTP and our WebSocket subprotocol on one entry. lws sends plain HTTP
        // and "no Sec-WebSocket-Protocol" upgrades to the vhost's default protocol, index 0.
        protocols[0].name = cStrings.make(config.wsProtocolName)
        protocols[0].callback = hubServerCallback
        protocols[0].per_session_data_size = 0  // per-connection state lives in opaque user data
        protocols[0].rx_buffer_size = config.wsRxBufferBytes
        protocols[0].id = HubLoop.mainProtocolID
        // A whole frame (header + payload) goes to the kernel in one send(). Without this,
        // lws 4.1 slices every write into rx_buffer_size pieces, one POLLOUT each.
        protocols[0].tx_packet_size = max(config.maxFrameBytes, 64 * 1024) + 64
        let rawName = cStrings.make(HubLoop.rawProtocolName)
        rawProtocolNamePointer = rawName
        protocols[1].name = rawName
        protocols[1].callback = hubServerCallback
        protocols[1].id = HubLoop.rawProtocolID
        // protocols[2] stays zeroed: the terminator.

        retryPolicy.pointee.secs_since_valid_ping = UInt16(clamping: config.wsPingIntervalSeconds)
        retryPolicy.pointee.secs_since_valid_hangup = UInt16(clamping: config.wsHangupSeconds)

        var info = lws_context_creation_info()
        info.options = UInt64(LWS_SERVER_OPTION_EXPLICIT_VHOSTS) | UInt64(LWS_SERVER_OPTION_VALIDATE_UTF8)
        if !hostIsIPv6 { info.options |= UInt64(LWS_SERVER_OPTION_DISABLE_IPV6) }
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
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
        vinfo.protocols = UnsafePointer(protocols)
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

    // MARK: - Shutdown (loop thread)

    /// Before the context is destroyed: close sessions politely, bounded by the grace period.
    private func gracefulShutdown() {
        for timer in Array(timers.values) { cancelTimer(timer) }
        guard !sessions.isEmpty, config.shutdownGracePeriod > .zero else { return }
        for session in sessions.values { session.closeImmediately(code: 1001, reason: "server shutting down") }
        let deadline = ContinuousClock.now + config.shutdownGracePeriod
        // A timer guarantees lws_service wakes up by the deadline even if nothing happens.
        let wake = schedule(after: config.shutdownGracePeriod) {}
        while !sessions.isEmpty, ContinuousClock.now < deadline {
            core.serviceOnce()
        }
        cancelTimer(wake)
        for timer in Array(timers.values) { cancelTimer(timer) }
    }

    /// After lws_context_destroy: every connection callback has run; drop what is left.
    private func afterContextDestroyed() {
        for timer in timers.values {
            timer.isScheduled = false
            timer.work = nil
        }
        timers.removeAll()
        for descriptor in adopted.values { descriptor.detach() }
        adopted.removeAll()
        sessions.removeAll()
        vhost = nil
        httpHandler = nil
        webSocketHandler = nil
    }
}

// MARK: - C callbacks

/// lws_sul callback (loop thread): the TimerHandle's address sits right after the sul.
let timerFired: @convention(c) (UnsafeMutablePointer<lws_sorted_usec_list_t>?) -> Void = { sul in
    guard let sul else { return }
    let slot = UnsafeMutableRawPointer(sul).advanced(by: TimerHandle.ownerOffset)
    guard let owner = slot.load(as: UnsafeMutableRawPointer?.self) else { return }
    let handle = Unmanaged<TimerHandle>.fromOpaque(owner).takeUnretainedValue()
    guard let loop = handle.loop else { return }
    let start = StallMeter.now()
    defer { loop.core.stall.record(since: start) }
    loop.fireTimer(handle)
}

/// The lws protocol callback for both of the server's protocols. Runs on the loop thread
/// (and, for lifecycle reasons such as PROTOCOL_INIT, on the thread creating the context).
/// Reaches the HubLoop through the context user pointer.
let hubServerCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard let wsi, let ctx = lws_get_context(wsi), let user = lws_context_user(ctx) else { return 0 }
    let loop = Unmanaged<HubLoop>.fromOpaque(user).takeUnretainedValue()
    let start = StallMeter.now()
    defer { loop.core.stall.record(since: start) }
    return loop.handleCallback(wsi: wsi, reason: reason, input: input, length: length)
}

/// Per-accepted-connection state, stored (retained) in the wsi's opaque user data and
/// released at LWS_CALLBACK_WSI_DESTROY. Survives lws's protocol re-binds (which free
/// per_session_data) and the HTTP → WebSocket upgrade.
final class ConnectionBox {
    var http: HTTPConnection?
    var session: WebSocketSession?
    /// When the connection was accepted (the first request's deadline counts from here).
    var acceptedAt = ContinuousClock.now
    /// The client address counted in `RequestLimits` (nil: not counted).
    var countedAddress: String?
    /// Over the per-address cap: its first request is answered 429 and it closes.
    var overAddressCap = false
    /// Kills the connection if its first request's headers are not complete in time;
    /// cancelled when the wsi is destroyed (the timer holds the raw wsi).
    var headerDeadline: TimerHandle?

    #if DEBUG
    /// Live boxes, for leak checks in tests.
    nonisolated(unsafe) static var live = 0
    static let liveLock = NSLock()
    init() { ConnectionBox.liveLock.lock(); ConnectionBox.live += 1; ConnectionBox.liveLock.unlock() }
    deinit { ConnectionBox.liveLock.lock(); ConnectionBox.live -= 1; ConnectionBox.liveLock.unlock() }
    static var liveCount: Int { liveLock.lock(); defer { liveLock.unlock() }; return live }
    #endif
}

extension HubLoop {
    /// Loop thread. Dispatches one lws callback.
    func handleCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                        input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        switch reason {
        case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
            if core.isOnLoop { core.drainPending() }
            return 0

        // ---- Accepted connections (counted per client address)
        case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
            connectionAccepted(wsi: wsi)
            return 0

        // ---- HTTP
        case LWS_CALLBACK_HTTP:
            return httpRequestHeadersComplete(wsi: wsi, uri: input, length: length)
        case LWS_CALLBACK_HTTP_BODY:
            return httpBodyChunk(wsi: wsi, data: input, length: length)
        case LWS_CALLBACK_HTTP_BODY_COMPLETION:
            return httpBodyComplete(wsi: wsi)
        case LWS_CALLBACK_HTTP_WRITEABLE:
            return httpWriteable(wsi: wsi)
        case LWS_CALLBACK_CLOSED_HTTP:
            if let box = existingBox(wsi), let http = box.http { http.detach() }
            return 0

        // ---- WebSocket
        case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
            return confirmUpgrade(wsi: wsi, upgrade: input)
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
            // Only our subprotocol (index 0) may carry WebSocket traffic, and only after
            // CONFIRM_UPGRADE accepted it (a client naming the raw protocol lands here).
            guard lws_get_protocol(wsi)?.pointee.id == HubLoop.mainProtocolID,
                  existingBox(wsi)?.session != nil else { return 1 }
            return 0
        case LWS_CALLBACK_ESTABLISHED:
            return webSocketEstablished(wsi: wsi)
        case LWS_CALLBACK_RECEIVE:
            guard let session = existingBox(wsi)?.session else { return -1 }
            return session.handleReceive(wsi: wsi, data: input, length: length)
        case LWS_CALLBACK_SERVER_WRITEABLE:
            guard let session = existingBox(wsi)?.session else { return -1 }
            return session.handleWriteable(wsi: wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let session = existingBox(wsi)?.session, let input, length >= 2 {
                let bytes = input.assumingMemoryBound(to: UInt8.self)
                session.peerCloseCode = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            }
            return 0
        case LWS_CALLBACK_CLOSED:
            if let session = existingBox(wsi)?.session { webSocketClosed(session) }
            return 0

        // ---- Adopted descriptors
        case LWS_CALLBACK_RAW_RX_FILE:
            guard let descriptor = adoptedDescriptor(wsi) else { return -1 }
            return descriptor.handleReadable()
        case LWS_CALLBACK_RAW_CLOSE_FILE:
            if let descriptor = adoptedDescriptor(wsi) {
                // The registry was its only owner: unhook it from the wsi first.
                lws_set_opaque_user_data(wsi, nil)
                adopted.removeValue(forKey: ObjectIdentifier(descriptor))
                descriptor.handleClosed()
            }
            return 0

        // ---- Teardown of any wsi: release what its opaque pointer holds.
        case LWS_CALLBACK_WSI_DESTROY:
            guard let raw = lws_get_opaque_user_data(wsi) else { return 0 }
            lws_set_opaque_user_data(wsi, nil)
            let object = Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue()
            if let box = object as? ConnectionBox {
                if let address = box.countedAddress { limits.connectionClosed(address: address) }
                box.headerDeadline?.cancel()
                box.headerDeadline = nil
                box.http?.detach()
                if let session = box.session, session.wsi != nil { webSocketClosed(session) }
                Unmanaged<ConnectionBox>.fromOpaque(raw).release()
            } else if let descriptor = object as? AdoptedDescriptor {
                adopted.removeValue(forKey: ObjectIdentifier(descriptor))
                descriptor.handleClosed()
            }
            return 0

        default:
            return 0
        }
    }

    /// Loop thread. The ConnectionBox of an accepted connection, if one was created.
    func existingBox(_ wsi: OpaquePointer) -> ConnectionBox? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? ConnectionBox
    }

    /// Loop thread. The ConnectionBox of an accepted connection, created on first use.
    func box(for wsi: OpaquePointer) -> ConnectionBox {
        if let box = existingBox(wsi) { return box }
        let box = ConnectionBox()
        lws_set_opaque_user_data(wsi, Unmanaged.passRetained(box).toOpaque())
        return box
    }

    /// Loop thread.
    private func adoptedDescriptor(_ wsi: OpaquePointer) -> AdoptedDescriptor? {
        guard let raw = lws_get_opaque_user_data(wsi) else { return nil }
        return Unmanaged<AnyObject>.fromOpaque(raw).takeUnretainedValue() as? AdoptedDescriptor
    }
}
