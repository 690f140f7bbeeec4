import Foundation

/// Settings of the HTTP + WebSocket listener run by `HubLoop`.
public struct HubLoopConfig: Sendable {
    /// Address to listen on. An IPv4 literal (default `127.0.0.1`), `0.0.0.0` for every
    /// IPv4 interface, an IPv6 literal, or `::` for every interface.
    public var host: String = "127.0.0.1"
    /// TCP port; 0 picks an ephemeral port (read it back from `HubLoop.boundPort`).
    public var port: Int = 8080
    /// The WebSocket subprotocol we speak. Clients that send no `Sec-WebSocket-Protocol`
    /// header are bound to it as well.
    public var wsProtocolName: String = "collection-hub.v1"
    /// URL path on which WebSocket upgrades are accepted (others get 404 before upgrade).
    public var wsPath: String = "/ws"
    /// Largest outgoing frame payload we expect to send in one go (merged frames are capped
    /// at this). lws is told to hand frames this large to the kernel in one send().
    public var maxFrameBytes: Int = 256 * 1024
    /// Largest incoming (reassembled) WebSocket message; larger ones are closed with 1009.
    public var maxIncomingMessageBytes: Int = 64 * 1024
    /// Largest HTTP request body; larger ones are answered with 413 (JSON error).
    public var maxHTTPBodyBytes: Int = 1 << 20
    /// Per-connection lws receive buffer for WebSocket input. Messages bigger than this
    /// arrive in pieces and are reassembled; keep it small: lws allocates it for every
    /// connection. Client messages are a few hundred bytes at most (subscribe, ping), so
    /// 512, as the kit's c_hub; measured RSS per connection is about 2.2 KB + this.
    public var wsRxBufferBytes: Int = 512
    /// Outgoing bytes a session may have queued before it is considered too slow and is
    /// closed with 1008 (policy violation). 0 disables the limit.
    public var maxQueuedBytesPerSession: Int = 16 << 20
    /// SO_SNDBUF of each WebSocket connection (0 = the kernel's autotuning, up to
    /// tcp_wmem's maximum, 4 MiB on Debian). Bounding it bounds the kernel memory a client
    /// that stops reading can pin, and makes `maxQueuedBytesPerSession` and the fan-out's
    /// slow-consumer bound mean what they say. The kernel doubles the value.
    public var socketSendBufferBytes: Int = 256 * 1024
    /// Merge consecutive queued frames created with `SharedFrame(…, mergeableJSONArray: true)`
    /// into one `[a…, b…]` frame (up to `maxFrameBytes`) when writing.
    public var mergeJSONArrayFrames: Bool = true
    /// Write a frame straight away when a session has nothing queued and its socket is
    /// not choked, instead of waiting for a WRITEABLE callback.
    public var directWrites: Bool = true
    /// Largest request header block lws will parse (cookies + bearer tokens must fit).
    public var maxHeaderBytes: Int = 8192
    /// Names of request headers lws has no token for that should still be captured
    /// (lowercase, e.g. "x-request-id"). Well-known headers are always captured.
    public var extraRequestHeaders: [String] = []
    /// Seconds an `HTTPHandler` may take to respond before lws drops the connection.
    public var httpHandlerTimeoutSeconds: Int = 30
    /// Seconds lws allows for header / body arrival and similar I/O phases.
    public var ioTimeoutSeconds: Int = 20
    /// Seconds a whole HTTP request (headers + body) may take to arrive; past it the
    /// request is answered 408 and the connection closed (a client dribbling its body
    /// cannot hold a connection and its buffer open).
    public var requestDeadlineSeconds: Int = 10
    /// Body bytes all unfinished requests together may hold; a request that would go over
    /// it is answered 503 with Retry-After and closed. Bodies are never reserved ahead
    /// from Content-Length: only bytes that arrived count.
    public var maxHeldRequestBytes: Int = 32 << 20
    /// Open connections (HTTP and WebSocket) per client address; one more is answered 429
    /// at its first request and closed. 0 = no limit.
    public var maxConnectionsPerAddress: Int = 0
    /// SO_REUSEPORT on the listening socket: other loops of this process bind the same port
    /// and the kernel spreads new connections over them.
    public var shareListenPort = false
    /// Seconds an idle HTTP/1.1 keep-alive connection is kept open.
    public var httpKeepAliveSeconds: Int = 15
    /// WebSocket keepalive: a PING is sent after this many idle seconds (0 = lws default 300).
    public var wsPingIntervalSeconds: Int = 30
    /// …and the connection is dropped if nothing (e.g. the PONG) arrives within this many
    /// seconds of idleness. Must be larger than `wsPingIntervalSeconds`.
    public var wsHangupSeconds: Int = 60
    /// On `stop()`, open sessions are closed with 1001 and given this long to finish the
    /// closing handshake before the context is destroyed.
    public var shutdownGracePeriod: Duration = .milliseconds(300)

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        wsProtocolName: String = "collection-hub.v1",
        maxFrameBytes: Int = 256 * 1024,
        maxIncomingMessageBytes: Int = 64 * 1024,
        maxHTTPBodyBytes: Int = 1 << 20
    ) {
        self.host = host
        self.port = port
        self.wsProtocolName = wsProtocolName
        self.maxFrameBytes = maxFrameBytes
        self.maxIncomingMessageBytes = maxIncomingMessageBytes
        self.maxHTTPBodyBytes = maxHTTPBodyBytes
    }
}

/// Errors thrown by `HubLoop` (and the client loop).
public enum HubLoopError: Error, CustomStringConvertible, Equatable {
    /// Another socket already listens on host:port.
    case portInUse(host: String, port: Int)
    /// lws refused to listen for another reason (bad address, permissions...).
    case listenFailed(host: String, port: Int, reason: String)
    case contextCreationFailed
    case invalidConfig(String)
    /// `start()` after `start()` or after `stop()`.
    case notStartable
    case threadCreationFailed(Int32)
    /// `adoptReadable` could not register the descriptor (the caller still owns it).
    case adoptFailed(fd: Int32)
    /// The loop is stopped (or stopping).
    case notRunning

    public var description: String {
        switch self {
        case .portInUse(let host, let port):
            return "port \(host):\(port) is already in use; choose another with --listen"
        case .listenFailed(let host, let port, let reason):
            return "cannot listen on \(host):\(port): \(reason)"
        case .contextCreationFailed:
            return "libwebsockets context creation failed"
        case .invalidConfig(let why):
            return "invalid transport configuration: \(why)"
        case .notStartable:
            return "the loop was already started or stopped"
        case .threadCreationFailed(let rc):
            return "could not create the service thread (error \(rc))"
        case .adoptFailed(let fd):
            return "could not watch descriptor \(fd)"
        case .notRunning:
            return "the loop is not running"
        }
    }
}

extension HubLoopError: LocalizedError {
    public var errorDescription: String? { description }
}
