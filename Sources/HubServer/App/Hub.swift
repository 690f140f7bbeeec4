import Foundation
import HubStore
import Logging

/// One hub process: the libwebsockets loop serving static files, REST and WebSocket, fed
/// by PostgreSQL NOTIFY. Construct, `start()`, and `stop()` when done.
// @unchecked Sendable: start() and stop() are called by the owner's thread; the parts they reach post to the loop.
public final class Hub: @unchecked Sendable {
    public let config: HubConfig
    let pool: ConnectionPool
    let logger: Logger
    let fanOut: FanOut
    let authenticator: Authenticator
    let protocolHandler: WebSocketProtocol
    let router: HTTPRouter
    /// Bounded threads for every database job the loop hands off.
    let databaseWorkers: DatabaseWorkers
    private var loop: HubLoop?
    private var listener: NotificationListener?
    /// Loop thread: LISTEN has been started (it may be held back by `listenStartDelay`).
    private var listenStarted = false
    private let memoryReturn = MemoryReturn()
    /// Workers made for this hub alone are stopped with it; a HubGroup's shared ones by the group.
    private var ownsWorkers = false
    /// The port the other loops of a HubGroup bind: the one the first loop got.
    var portOverride: Int?

    /// `api` answers the REST routes under /api/v1; nil serves only static files and health.
    public convenience init(config: HubConfig, pool: ConnectionPool, api: (any RESTHandler)? = nil,
                            logger: Logger = Logger(label: "collection-hub.hub")) {
        self.init(config: config, pool: pool, workers: Hub.makeWorkers(config, pool), api: api, logger: logger)
        ownsWorkers = true
    }

    /// `workers`: the database workers, shared by the loops of a HubGroup (they share the pool).
    init(config: HubConfig, pool: ConnectionPool, workers: DatabaseWorkers, api: (any RESTHandler)?, logger: Logger) {
        self.config = config
        self.pool = pool
        self.logger = logger
        self.databaseWorkers = workers
        self.fanOut = FanOut(config: config, pool: pool, db: databaseWorkers, logger: logger)
        self.authenticator = Authenticator(pool: pool, logger: logger)
        self.protocolHandler = WebSocketProtocol(fanOut: fanOut, authenticator: authenticator, config: config, logger: logger)
        self.router = HTTPRouter(config: config, pool: pool, workers: databaseWorkers, authenticator: authenticator, api: api, logger: logger)
    }

    /// Threads sized to the pool's connections (or `config.databaseWorkers`).
    static func makeWorkers(_ config: HubConfig, _ pool: ConnectionPool) -> DatabaseWorkers {
        DatabaseWorkers(threads: max(1, config.databaseWorkers ?? pool.configuration.maxConnections),
                        queueLimit: max(0, config.databaseQueueLimit))
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: Int { loop?.boundPort ?? config.port }

    /// Opens the listening socket, starts the service thread and the LISTEN connection.
    /// Throws a one-sentence error when the port is taken.
    public func start() throws {
        var loopConfig = HubLoopConfig()
        loopConfig.host = config.host
        loopConfig.port = portOverride ?? config.port
        loopConfig.shareListenPort = config.shareListenPort
        loopConfig.maxFrameBytes = config.maxFrameBytes
        loopConfig.wsPingIntervalSeconds = config.wsPingIntervalSeconds
        loopConfig.wsHangupSeconds = config.wsHangupSeconds
        // lws has no token for it; cookie requests without Origin may prove same-origin with it.
        loopConfig.extraRequestHeaders.append("sec-fetch-site")
        // The fan-out closes slow clients itself (4008) well before this backstop.
        loopConfig.maxQueuedBytesPerSession = config.maxQueuedBytesPerClient * 2
        loopConfig.requestDeadlineSeconds = config.requestDeadlineSeconds
        loopConfig.maxHeldRequestBytes = config.maxHeldRequestBytes
        loopConfig.maxConnectionsPerAddress = config.maxConnectionsPerAddress
        // Before the loop runs, so the first request is answered from memory. The LISTEN
        // connection's reload then covers changes made between this read and LISTEN.
        authenticator.loadNow()
        let loop = try HubLoop(config: loopConfig, http: router, websocket: protocolHandler)
        authenticator.onChange = { [weak loop, fanOut, authenticator] in
            guard let loop else { return }
            CredentialCheck.sweep(loop: loop, fanOut: fanOut, authenticator: authenticator)
        }
        fanOut.loop = loop
        router.attach(loop: loop, fanOut: fanOut)
        try loop.start()
        self.loop = loop
        let listener = NotificationListener(
            conninfo: config.conninfo, loop: loop, logger: logger, drain: .forFrames(of: config.maxFrameBytes),
            onNotifications: { [fanOut, authenticator] notes, leftWaiting in
                if leftWaiting { fanOut.metrics.listenTurnsLeftWaiting += 1 }
                let credentials = notes.filter { $0.channel == CredentialChange.channel }
                if !credentials.isEmpty { authenticator.apply(credentials) }
                let items = credentials.isEmpty ? notes : notes.filter { $0.channel != CredentialChange.channel }
                if !items.isEmpty { fanOut.handle(items) }
            },
            onStateChange: { [fanOut, authenticator, weak loop] connected, reconnect in
                guard connected else { return fanOut.listenChanged(connected: false) }
                // Changes made while nobody listened were not heard: re-read them, like
                // the backfill does for items.
                if let loop { authenticator.reload(loop: loop) }
                if reconnect { fanOut.metrics.listenReconnects += 1 }
                fanOut.listenChanged(connected: true)
            })
        self.listener = listener
        loop.post { [self] in
            if config.listenStartDelay > .zero {
                _ = loop.schedule(after: config.listenStartDelay) { [weak self] in self?.startListening() }
            } else {
                startListening()
            }
            // Returns memory once enough clients have gone.
            every(.seconds(2), on: loop) { hub, _ in
                hub.memoryReturn.observe(closedTotal: hub.fanOut.metrics.connectionsOpened - hub.fanOut.metrics.connectionsOpen)
            }
            // Revocations close connections as their NOTIFY arrives; this catches expiry.
            every(config.credentialCheckInterval, on: loop) { hub, _ in hub.authenticator.expire() }
            every(config.lastUsedFlushInterval, on: loop) { hub, loop in hub.authenticator.lastUsed.flush(loop: loop) }
        }
    }

    /// Starts LISTEN now when `listenStartDelay` still holds it back (tests open the window
    /// of a hub that serves before it listens at the moment they choose). Any thread.
    public func startListeningNow() {
        loop?.post { [weak self] in self?.startListening() }
    }

    /// Loop thread: the LISTEN connection starts once, whichever asks first.
    private func startListening() {
        guard !listenStarted else { return }
        listenStarted = true
        listener?.start()
    }

    /// Runs `body` on the loop every `interval` while the hub and its loop live.
    private func every(_ interval: Duration, on loop: HubLoop, _ body: @escaping (Hub, HubLoop) -> Void) {
        _ = loop.schedule(after: interval) { [weak self, weak loop] in
            guard let self, let loop else { return }
            body(self, loop)
            every(interval, on: loop, body)
        }
    }

    /// Stops LISTEN and the loop; idempotent.
    public func stop() {
        if let loop, let listener {
            let done = DispatchSemaphore(value: 0)
            loop.post {
                listener.stop()
                done.signal()
            }
            _ = done.wait(timeout: .now() + 2)
        }
        listener = nil
        loop?.stop()
        loop = nil
        if ownsWorkers { databaseWorkers.stop() }
    }

    /// Busy database workers, queued jobs and refusals (tests, diagnostics). Any thread.
    public var databaseLoad: DatabaseWorkers.Load { databaseWorkers.currentLoad }

    /// Runs `body` on the loop and waits for its answer (tests, health, metrics).
    func onLoop<T: Sendable>(timeout: Duration = .seconds(2), _ body: @escaping @Sendable (FanOut) -> T) -> T? {
        guard let loop else { return nil }
        let box = ResultSlot<T>()
        let fanOut = UncheckedBox(self.fanOut)
        loop.post { box.set(body(fanOut.value)) }
        return box.wait(timeout: timeout)
    }

    /// The loop, for the other loops of a HubGroup to post to (set once before they start).
    var loopForPeers: HubLoop? { loop }

    /// Loop thread: this loop's counters.
    func localSnapshot(takingStall: Bool) -> LoopSnapshot {
        LoopSnapshot(metrics: fanOut.counters, transport: loop?.transportStats ?? TransportStats(),
                     loopStall: takingStall ? loop?.takeLongestCallback() ?? .zero : .zero)
    }

    /// Tells this loop's router about the other loops; it adds them up in /metrics and /healthz.
    func attach(peers: LoopPeers) {
        let router = UncheckedBox(self.router)
        loop?.post { router.value.peers = peers }
    }

    /// The backend pid of the LISTEN connection, for fault-injection tests.
    public func listenBackendPID() -> Int32? {
        guard let listener else { return nil }
        let l = UncheckedBox(listener)
        return onLoop { _ in l.value.backendPID } ?? nil
    }
}

/// A value handed from the loop to a waiting thread, with a timeout on the wait.
// @unchecked Sendable: written once before the semaphore is signalled and read only after the wait succeeds.
final class ResultSlot<T: Sendable>: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    private var value: T?
    func set(_ v: T) {
        value = v
        semaphore.signal()
    }
    func wait(timeout: Duration) -> T? {
        semaphore.wait(timeout: .now() + timeout.seconds) == .success ? value : nil
    }
}
