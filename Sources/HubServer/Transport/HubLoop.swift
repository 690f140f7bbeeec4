import CLibWebSockets
import HubCore
import Foundation

/// The single-threaded HTTP + WebSocket transport: ONE libwebsockets context serviced by
/// ONE thread ("the loop").
///
/// Where things are: context setup (HubLoop+Context.swift); every lws callback enters
/// through `dispatch` (ConnectionCallback.swift), which hands accepted connections to the
/// HTTP/1 server (HTTPCallback.swift) or the WebSocket server (WebSocketCallback.swift),
/// and adopted descriptors to AdoptedDescriptorCallback.swift; per-connection state is a
/// `Connection` (Connection.swift); timers are HubLoop+Timers.swift.
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
    /// lws_protocols.id values of our two protocols (connections; adopted descriptors).
    static let mainProtocolID: UInt32 = 0xC4B1
    static let rawProtocolID: UInt32 = 0xC4B2
    static let rawProtocolName = "chub-raw-descriptor"

    /// The configuration the loop was created with.
    public let config: HubLoopConfig
    let core = LoopCore(threadName: "chub-hub-lws")

    // Loop thread only; released once the context is destroyed (breaks handler↔loop cycles).
    var httpHandler: HTTPHandler?
    var webSocketHandler: WebSocketHandler?

    // Owned by the context (init thread writes, lws reads until the context is gone).
    let cStrings = CStringArena()
    /// [connection protocol, terminator, raw-file protocol, terminator].
    let protocols: UnsafeMutablePointer<lws_protocols>
    static let protocolSlots = 4
    let retryPolicy: UnsafeMutablePointer<lws_retry_bo_t>
    var rawProtocolNamePointer: UnsafePointer<CChar>?
    /// The vhost that carries client connections.
    var vhost: OpaquePointer?
    /// The vhost of adopted descriptors (its only protocol is the raw-file one).
    var rawVhost: OpaquePointer?
    var listenPort: Int = 0

    /// Loop-thread scratch buffer (`lwsPre` + `scratchCapacity` bytes) reused by writes.
    let scratch: UnsafeMutableRawPointer
    let scratchCapacity: Int
    /// Merged frames shared by the sessions whose queues hold the same frames.
    let mergedFrames = MergedFrameCache()

    // Loop thread only.
    /// Session ids: slots reused once a session ends, so the fan-out finds a client by index.
    var sessionIDs = ClientSlots()
    var nextTransactionID: UInt64 = 0
    /// Established WebSocket sessions by id.
    var sessions: [UInt64: WebSocketSession] = [:]
    var timers: [ObjectIdentifier: TimerHandle] = [:]
    /// Adopted descriptors by their wsi (their only owner while adopted).
    var adopted: [OpaquePointer: AdoptedDescriptor] = [:]
    /// Bounds on unfinished request bodies and connections per address.
    let limits: RequestLimits
    /// What an upgrade must satisfy before the WebSocket handler is asked.
    let upgradePolicy: UpgradePolicy
    /// The hub's own listening socket and what accepts from it (lws listens on nothing).
    let listeningSocket: ListeningSocket
    private(set) var acceptor: Acceptor?
    /// The Connection being adopted (`adoptAccepted`), until lws announces its wsi.
    var adopting: Connection?

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
        // lws takes an interface name or an address literal, not a host name.
        let host = config.host == "localhost" ? "127.0.0.1" : config.host
        do {
            self.listeningSocket = try ListeningSocket(host: host, port: config.port, reusePort: config.shareListenPort)
        } catch HubLoopError.portInUse {
            throw HubLoopError.portInUse(host: config.host, port: config.port)  // as the user wrote it
        }
        self.listenPort = listeningSocket.port
        self.upgradePolicy = UpgradePolicy(path: config.wsPath, subprotocol: config.wsProtocolName,
                                           reservedSubprotocols: [HubLoop.rawProtocolName])
        self.httpHandler = http
        self.webSocketHandler = websocket
        self.scratchCapacity = max(config.maxFrameBytes, 64 * 1024) + 16 * 1024
        self.scratch = UnsafeMutableRawPointer.allocate(byteCount: lwsPre + scratchCapacity, alignment: 16)
        self.protocols = .allocate(capacity: HubLoop.protocolSlots)
        self.protocols.initialize(repeating: lws_protocols(), count: HubLoop.protocolSlots)
        self.retryPolicy = .allocate(capacity: 1)
        self.retryPolicy.initialize(to: lws_retry_bo_t())
        core.afterDestroy = { [unowned self] in self.afterContextDestroyed() }
        core.beforeDestroy = { [unowned self] in self.gracefulShutdown() }
        try createContext()
        // The parser's fragment table holds the URI, the version, each query part and each
        // known header; leave those two and a margin.
        let gate = RequestHeadGate.Limits(maxHeadBytes: config.maxHeaderBytes,
                                          maxFields: Int(WSI_TOKEN_COUNT.rawValue) - 4)
        acceptor = Acceptor(loop: self, socket: listeningSocket, gateLimits: gate,
                            deadline: .seconds(config.requestDeadlineSeconds)) { [unowned self] socket in
            self.adoptAccepted(socket)
        }
    }

    deinit {
        // Only reachable when no service thread runs (a running thread keeps us alive).
        // The hooks reference `self` unowned: drop them before a never-started teardown.
        core.beforeDestroy = nil
        core.afterDestroy = nil
        core.stop()
        protocols.deinitialize(count: HubLoop.protocolSlots)
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
        // Connections queue in the listen backlog until the loop watches the socket.
        post { [weak self] in self?.acceptor?.start() }
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

    // MARK: - Shutdown (loop thread)

    /// Before the context is destroyed: close sessions politely, bounded by the grace period.
    private func gracefulShutdown() {
        acceptor?.stop()
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
        rawVhost = nil
        acceptor?.stop()
        acceptor = nil
        adopting = nil
        listeningSocket.close()
        httpHandler = nil
        webSocketHandler = nil
    }
}

