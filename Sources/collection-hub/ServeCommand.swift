import ArgumentParser
import Foundation
import HubCore
import HubEngine
import HubServer
import HubStore

/// `collection-hub serve`: migrations, then the hub (and, by default, the engine) until Ctrl-C.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub (and the engine) until interrupted.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var engineOptions: EngineOptions

    @Flag(name: .customLong("no-engine"), help: "Serve only; run the engine in other processes (`collection-hub engine`).")
    var noEngine = false

    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:8080"

    @Option(name: .customLong("public-dir"), help: "Folder served at / (default: ./public or the build's checkout).")
    var publicDir: String?

    @Option(name: .customLong("allowed-origin"), help: "Extra Origin allowed to open the WebSocket and send cookie requests; its host is accepted as Host (repeatable).")
    var allowedOrigins: [String] = []

    @Option(name: .customLong("client-queue-kib"), help: "Bytes (KiB) queued for one WebSocket client before it is closed as a slow consumer (4008).")
    var clientQueueKiB: Int = 4096

    @Option(name: .customLong("request-timeout-s"), help: "Seconds a whole HTTP request (headers + body) may take to arrive; then 408 and close.")
    var requestTimeoutS: Int = 10

    @Option(name: .customLong("max-unfinished-body-mib"), help: "MiB of request bodies all unfinished HTTP requests may hold together; over it, 503 with Retry-After.")
    var maxUnfinishedBodyMiB: Int = 32

    @Option(name: .customLong("max-connections-per-address"), help: "Open connections (HTTP and WebSocket) per client address; one more gets 429. 0 = no limit.")
    var maxConnectionsPerAddress: Int = 1024

    @Option(name: .customLong("max-websockets-per-token"), help: "Open WebSocket connections per API token; one more upgrade gets 429. 0 = no limit.")
    var maxWebSocketsPerToken: Int = 256

    @Option(name: .customLong("ws-ping-s"), help: "Seconds of WebSocket silence before the hub pings; the connection is dropped after twice as long without an answer.")
    var wsPingS: Int = 30

    @Option(help: "Event loops (threads serving HTTP and WebSocket on the one port). Default: the number of cores, at most 8 (each has its own LISTEN connection).")
    var loops: Int?

    @Flag(help: "Create a demo org and print an admin token with the dashboard URL.")
    var demo = false

    func validate() throws {
        _ = try parseListen()
        guard (64...1_048_576).contains(clientQueueKiB) else { throw ValidationError("--client-queue-kib takes 64 to 1048576") }
        guard (1...3600).contains(requestTimeoutS) else { throw ValidationError("--request-timeout-s takes 1 to 3600") }
        guard (1...65_536).contains(maxUnfinishedBodyMiB) else { throw ValidationError("--max-unfinished-body-mib takes 1 to 65536") }
        guard (0...1_000_000).contains(maxConnectionsPerAddress) else { throw ValidationError("--max-connections-per-address takes 0 to 1000000") }
        guard (0...1_000_000).contains(maxWebSocketsPerToken) else { throw ValidationError("--max-websockets-per-token takes 0 to 1000000") }
        // Both go into lws's UInt16 retry policy.
        guard (1...32_767).contains(wsPingS) else { throw ValidationError("--ws-ping-s takes 1 to 32767") }
        if let loops, !(1...64).contains(loops) { throw ValidationError("--loops takes 1 to 64") }
    }

    func parseListen() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("--listen takes HOST:PORT, e.g. 127.0.0.1:8080")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() throws {
        try withCLIErrors {
            let logger = makeLogger("collection-hub")
            let db = try OpenDatabase(database, migrate: true, logger: logger)
            ShutdownCoordinator.shared.onShutdown { db.pool.close() }
            let (host, port) = try parseListen()
            guard let publicDirectory = locatePublicDirectory() else {
                throw CLIError("cannot find the public/ folder; run from the project folder or pass --public-dir")
            }
            var config = HubConfig(publicDirectory: publicDirectory, conninfo: db.conninfo)
            config.host = host
            config.port = port
            config.allowedOrigins = allowedOrigins
            config.maxQueuedBytesPerClient = clientQueueKiB * 1024
            config.requestDeadlineSeconds = requestTimeoutS
            config.maxHeldRequestBytes = maxUnfinishedBodyMiB << 20
            config.maxConnectionsPerAddress = maxConnectionsPerAddress
            config.maxWebSocketsPerToken = maxWebSocketsPerToken
            config.wsPingIntervalSeconds = wsPingS
            config.wsHangupSeconds = 2 * wsPingS
            let service = CollectionService(pool: db.pool, unitCosts: engineOptions.unitCosts)
            let hub = HubGroup(loops: loops ?? min(ProcessInfo.processInfo.activeProcessorCount, 8), config: config, pool: db.pool,
                               api: CollectionAPI(service: service, logger: logger), logger: logger)
            try hub.start()
            ShutdownCoordinator.shared.onShutdown { hub.stop() }
            if !noEngine {
                let engine = try Engine(pool: db.pool, provider: try engineOptions.makeProvider(),
                                        config: engineOptions.engineConfig(), logger: logger)
                engine.start()
                // Registered after the hub: stops first, handing its runs back at once.
                ShutdownCoordinator.shared.onShutdown { engine.stop() }
            }

            let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(hub.boundPort)/"
            if demo {
                let token = try DemoSetup.ensure(db)
                let org = try OrgRepository(pool: db.pool).orgFind(DemoSetup.orgSlug)
                print("""

                    CollectionHub is running.
                      URL: \(url)
                      Org: \(org?.name ?? "demo") (--org \(DemoSetup.orgSlug), id \(org?.id.lowercasedString ?? "?"))
                      Dashboard: \(url)admin/automation
                      Admin token (paste it into the login form): \(token)
                      WebSocket: websocat -H='Authorization: Bearer \(token)' ws://\(host):\(hub.boundPort)/ws
                    Press Ctrl-C to stop.

                    """)
            } else {
                print("CollectionHub listening on \(url)")
            }
            // Scripts read these lines through a pipe: don't leave them in the buffer.
            fflush(nil)
            ShutdownCoordinator.shared.waitForSignal()
            logger.info("shutting down")
        }
    }

    func locatePublicDirectory() -> URL? {
        if let publicDir { return URL(fileURLWithPath: publicDir) }
        var candidates = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("public")]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("public"))
            dir = dir.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("index.html").path) }
    }
}

/// The demo org and its admin token for `make run`.
enum DemoSetup {
    /// The demo org's slug (what `--org` takes).
    static let orgSlug = DemoToken.orgSlug

    /// The token is kept inside the embedded cluster's data folder; with DATABASE_URL in
    /// .hub/, one file per database URL.
    static func ensure(_ db: OpenDatabase) throws -> String {
        let file: URL
        if let embedded = db.embedded {
            file = embedded.dataDirectory.appendingPathComponent("collection-hub.demo-token")
        } else {
            let digest = SHA256.hash(Array(db.conninfo.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
            file = URL(fileURLWithPath: ".hub/demo-token-\(digest)")
        }
        return try DemoToken.ensure(pool: db.pool, file: file)
    }
}
