import Foundation

/// Settings of one hub process.
public struct HubConfig: Sendable {
    /// Address to listen on; loopback by default.
    public var host: String = "127.0.0.1"
    /// Port; 0 picks a free one (tests).
    public var port: Int = 8080
    /// Folder served at /.
    public var publicDirectory: URL
    /// conninfo for the LISTEN connection (the pool is passed separately).
    public var conninfo: String
    /// Origins allowed to open the WebSocket and to send cookie requests; empty means the
    /// server's own origin only. Their hosts are also accepted as Host on cookie requests.
    public var allowedOrigins: [String] = []
    /// Largest frame a client is sent; a batch never grows past it.
    public var maxFrameBytes: Int = 256 * 1024
    /// Per-client outbound bound; a client past it is closed as a slow consumer.
    public var maxQueuedBytesPerClient: Int = 4 << 20
    /// How often open WebSocket connections are checked for expired sessions (revocation
    /// and logout close them as their NOTIFY arrives).
    public var credentialCheckInterval: Duration = .seconds(15)
    /// How often token use is written to api_tokens.last_used_at (batched, off the loop).
    public var lastUsedFlushInterval: Duration = .seconds(10)
    /// Delay before the first LISTEN connect. Zero in service; tests set it to open the
    /// window in which clients subscribe before the hub listens.
    public var listenStartDelay: Duration = .zero
    /// Seconds a whole HTTP request (headers + body) may take; then 408 and close.
    public var requestDeadlineSeconds: Int = 10
    /// Body bytes all unfinished HTTP requests together may hold; over it, 503 + Retry-After.
    public var maxHeldRequestBytes: Int = 32 << 20
    /// Open connections per client address (HTTP and WebSocket); over it, 429. 0 = no limit.
    public var maxConnectionsPerAddress: Int = 0
    /// Open WebSocket connections per API token; over it the upgrade gets 429. 0 = no limit.
    public var maxWebSocketsPerToken: Int = 0
    /// Bind with SO_REUSEPORT so the other loops of this process share the port (HubGroup sets it).
    public var shareListenPort = false
    /// Items sent in a subscribe snapshot (the most recent ones).
    public var snapshotItems: Int = 50
    /// A silent WebSocket is pinged after this many seconds and dropped when nothing valid
    /// has arrived for `wsHangupSeconds`.
    public var wsPingIntervalSeconds: Int = 30
    public var wsHangupSeconds: Int = 60
    /// Threads for database work off the loop (table reads, REST); nil: one per pooled connection.
    public var databaseWorkers: Int?
    /// Database jobs that may wait for a worker; past it a request is answered 503
    /// `unavailable` (WebSocket: an `unavailable` error frame). A waiting job holds no
    /// thread and no connection, so this absorbs a burst of subscribes.
    public var databaseQueueLimit: Int = 1024

    public init(publicDirectory: URL, conninfo: String) {
        self.publicDirectory = publicDirectory
        self.conninfo = conninfo
    }
}
