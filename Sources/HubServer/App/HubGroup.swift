import Foundation
import HubStore
import Logging

/// One process, N loops (`serve --loops N`): N hubs on one port. Each loop has its own
/// listening socket on the port (SO_REUSEPORT, so the kernel spreads new connections over
/// them), its own clients, LISTEN connection and fan-out, because Debian's libwebsockets runs
/// one thread per context. PostgreSQL is the bus between them as between processes: every
/// loop hears every notification. They share the connection pool; /metrics and /healthz add
/// the loops up. Limits counted per loop (connections per address, WebSockets per token, held
/// request bytes) are split evenly: the kernel's spread is even, so the sum stays the limit.
// @unchecked Sendable: start() and stop() are called by the owner's thread; each hub posts to its own loop.
public final class HubGroup: @unchecked Sendable {
    public let hubs: [Hub]

    public init(loops: Int, config: HubConfig, pool: ConnectionPool, api: (any RESTHandler)? = nil,
                logger: Logger = Logger(label: "collection-hub.hub")) {
        let n = max(1, loops)
        var perLoop = config
        if n > 1 {
            perLoop.shareListenPort = true
            perLoop.maxConnectionsPerAddress = HubGroup.share(config.maxConnectionsPerAddress, n)
            perLoop.maxWebSocketsPerToken = HubGroup.share(config.maxWebSocketsPerToken, n)
            perLoop.maxHeldRequestBytes = HubGroup.share(config.maxHeldRequestBytes, n)
        }
        let workers = Hub.makeWorkers(config, pool)
        hubs = (0..<n).map { i in
            var l = logger
            if n > 1 { l[metadataKey: "loop"] = "\(i)" }
            return Hub(config: perLoop, pool: pool, workers: workers, api: api, logger: l)
        }
    }

    /// A loop's part of a limit; 0 (no limit) stays 0.
    public static func share(_ limit: Int, _ loops: Int) -> Int {
        limit == 0 ? 0 : max(1, (limit + loops - 1) / loops)
    }

    public var boundPort: Int { hubs[0].boundPort }

    /// Starts the first loop (it binds, port 0 included, and reports a port clash), then the
    /// others on the port it got.
    public func start() throws {
        // SO_REUSEPORT would also share the port with another process of this user that set
        // it: a port someone holds is refused here, as with one loop.
        let config = hubs[0].config
        if hubs.count > 1 && config.port != 0 {
            // A plain bind fails on a port anyone holds, SO_REUSEPORT or not.
            try ListeningSocket(host: config.host, port: config.port).close()
        }
        do {
            try hubs[0].start()
            for hub in hubs.dropFirst() {
                hub.portOverride = hubs[0].boundPort
                try hub.start()
            }
        } catch {
            stop()
            throw error
        }
        if hubs.count > 1 {
            let peers = LoopPeers(hubs)
            for hub in hubs { hub.attach(peers: peers) }
        }
    }

    public func stop() {
        for hub in hubs { hub.stop() }
        hubs[0].databaseWorkers.stop()
    }
}
