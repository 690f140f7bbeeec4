import Foundation
import HubStore
import Logging

/// One hub process: the libwebsockets loop serving static files, REST and WebSocket, fed
/// by PostgreSQL NOTIFY. Construct, `start()`, and `stop()` when done.
public final class Hub: @unchecked Sendable {
    public let config: HubConfig
    let pool: ConnectionPool
    let logger: Logger
    let router: HTTPRouter
    private var loop: HubLoop?

    public init(config: HubConfig, pool: ConnectionPool, logger: Logger = Logger(label: "collection-hub.hub")) {
        self.config = config
        self.pool = pool
        self.logger = logger
        self.router = HTTPRouter(config: config, pool: pool, logger: logger)
    }

    /// The port actually bound (useful with port 0).
    public var boundPort: Int { loop?.boundPort ?? config.port }

    /// Opens the listening socket and starts the service thread. Throws a one-sentence error
    /// when the port is taken.
    public func start() throws {
        var loopConfig = HubLoopConfig()
        loopConfig.host = config.host
        loopConfig.port = config.port
        loopConfig.maxFrameBytes = config.maxFrameBytes
        let loop = try HubLoop(config: loopConfig, http: router, websocket: router.websocket)
        try loop.start()
        self.loop = loop
        router.attach(loop: loop)
    }

    /// Stops the loop; idempotent.
    public func stop() {
        loop?.stop()
        loop = nil
    }
}
