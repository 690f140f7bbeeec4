import CLibWebSockets
import Foundation
import HubLWS

/// Settings of a `WebSocketClientLoop`.
public struct WebSocketClientConfig: Sendable {
    /// Per-connection lws receive buffer; larger messages arrive in pieces and are
    /// reassembled. Small keeps thousands of connections cheap.
    public var rxBufferBytes: Int = 4096
    /// Largest reassembled incoming message; a bigger one closes the connection with 1009.
    public var maxMessageBytes: Int = 16 << 20
    /// Seconds allowed for TCP connect + handshake.
    public var connectTimeoutSeconds: Int = 10

    /// Defaults suit tests and benchmarks with thousands of connections.
    public init(rxBufferBytes: Int = 4096, maxMessageBytes: Int = 16 << 20, connectTimeoutSeconds: Int = 10) {
        self.rxBufferBytes = rxBufferBytes
        self.maxMessageBytes = maxMessageBytes
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }
}

/// Callbacks of one client connection, all on the client loop's thread.
public protocol WebSocketClientHandler: AnyObject {
    /// Handshake done; the connection can send and receive.
    func onOpen(_ connection: ClientConnection)
    /// One complete text message.
    func onText(_ connection: ClientConnection, _ bytes: [UInt8])
    /// One complete binary message.
    func onBinary(_ connection: ClientConnection, _ bytes: [UInt8])
    /// The connection closed after `onOpen`: `code` is the peer's close code, 1005 when it
    /// sent none, 1006 when the TCP connection just went away.
    func onClose(_ connection: ClientConnection, code: UInt16)
    /// Connecting failed (TCP, or the server answered the upgrade with a non-101 status,
    /// reported in `httpStatus` when lws kept it).
    func onConnectError(_ connection: ClientConnection, message: String, httpStatus: Int?)
}

extension WebSocketClientHandler {
    public func onOpen(_ connection: ClientConnection) {}
    public func onText(_ connection: ClientConnection, _ bytes: [UInt8]) {}
    public func onBinary(_ connection: ClientConnection, _ bytes: [UInt8]) {}
    public func onClose(_ connection: ClientConnection, code: UInt16) {}
    public func onConnectError(_ connection: ClientConnection, message: String, httpStatus: Int?) {}
}

/// A WebSocket client: its own lws context and one service thread, able to hold many
/// connections (tests, benchmarks). `connect`/`stop` and `ClientConnection`'s send/close
/// are callable from any thread; handler callbacks run on the client loop thread.
// @unchecked Sendable: any-thread entry points post to the client loop thread, which alone touches lws state.
public final class WebSocketClientLoop: @unchecked Sendable {
    static let protocolName = "chub-client"

    public let config: WebSocketClientConfig
    let core = LoopCore(threadName: "chub-cli-lws")
    private let cStrings = CStringArena()
    private let protocols: UnsafeMutablePointer<lws_protocols>

    // Loop thread only.
    var connections: [ObjectIdentifier: ClientConnection] = [:]
    private let idLock = NSLock()
    private var nextID: UInt64 = 0

    /// Creates the client context and starts its service thread.
    public init(config: WebSocketClientConfig = WebSocketClientConfig()) {
        _ = lwsLoggingConfigured
        self.config = config
        protocols = .allocate(capacity: 2)
        protocols.initialize(repeating: lws_protocols(), count: 2)
        protocols[0].name = cStrings.make(WebSocketClientLoop.protocolName)
        protocols[0].callback = clientCallback
        protocols[0].rx_buffer_size = max(256, config.rxBufferBytes)
        protocols[0].tx_packet_size = 256 * 1024

        var info = lws_context_creation_info()
        info.port = CONTEXT_PORT_NO_LISTEN
        info.protocols = UnsafePointer(protocols)
        info.user = Unmanaged.passUnretained(self).toOpaque()
        info.options = UInt64(LWS_SERVER_OPTION_DISABLE_IPV6)
        info.pt_serv_buf_size = 64 * 1024
        info.connect_timeout_secs = UInt32(clamping: config.connectTimeoutSeconds)
        info.timeout_secs = UInt32(clamping: config.connectTimeoutSeconds)
        guard let ctx = lws_create_context(&info) else {
            fatalError("libwebsockets client context creation failed")
        }
        core.attach(context: ctx)
        core.afterDestroy = { [unowned self] in
            for connection in self.connections.values { connection.finish() }
            self.connections.removeAll()
        }
        do { try core.start(owner: self) } catch { fatalError("client loop thread: \(error)") }
    }

    deinit {
        core.stop()
        protocols.deinitialize(count: 2)
        protocols.deallocate()
    }

    /// Stops the loop (every connection is dropped without a close handshake, handlers get
    /// `onClose`/`onConnectError`), destroys the context and joins the thread.
    /// Thread-safe, idempotent.
    public func stop() { core.stop() }

    /// True on the client loop thread.
    public var isOnLoop: Bool { core.isOnLoop }

    /// Runs `work` on the client loop thread. Any thread.
    public func post(_ work: @escaping @Sendable () -> Void) { core.post(work) }

    /// Starts connecting to `ws://host:port/path`. Returns at once; the outcome arrives
    /// on `handler` (on the loop thread). `headers` go into the handshake (e.g.
    /// `Authorization`, `Cookie`, `Origin`); `subprotocol` becomes Sec-WebSocket-Protocol
    /// (none sent when nil). The handler is retained until the connection ends. Any thread.
    public func connect(host: String = "127.0.0.1", port: Int, path: String = "/",
                        headers: [(String, String)] = [], subprotocol: String? = nil,
                        handler: WebSocketClientHandler) -> ClientConnection {
        idLock.lock()
        nextID += 1
        let id = nextID
        idLock.unlock()
        let connection = ClientConnection(id: id, loop: self, handler: handler, headers: headers)
        let target = ConnectTarget(host: host, port: port, path: path, subprotocol: subprotocol)
        if core.isOnLoop {
            startConnect(connection, target)
        } else {
            let box = LoopBound(connection)
            core.post { [weak self] in self?.startConnect(box.value, target) }
            if core.isStopped {
                connection.failConnect(message: "client loop is stopped", httpStatus: nil)
            }
        }
        return connection
    }

    struct ConnectTarget: Sendable {
        let host: String
        let port: Int
        let path: String
        let subprotocol: String?
    }

    /// Client loop thread: lws_client_connect_via_info.
    private func startConnect(_ connection: ClientConnection, _ target: ConnectTarget) {
        guard let ctx = core.context else {
            connection.failConnect(message: "client loop is stopped", httpStatus: nil)
            return
        }
        connections[ObjectIdentifier(connection)] = connection
        let strings = CStringArena()  // lws copies these during the call
        var info = lws_client_connect_info()
        info.context = ctx
        info.address = strings.make(target.host)
        info.port = Int32(target.port)
        info.path = strings.make(target.path.isEmpty ? "/" : target.path)
        info.host = strings.make("\(target.host):\(target.port)")
        info.protocol = target.subprotocol.map { strings.make($0) }
        info.local_protocol_name = strings.make(WebSocketClientLoop.protocolName)
        info.ietf_version_or_minus_one = -1
        info.opaque_user_data = Unmanaged.passUnretained(connection).toOpaque()  // registry retains
        let wsi = lws_client_connect_via_info(&info)
        if wsi == nil {
            connections.removeValue(forKey: ObjectIdentifier(connection))
            connection.failConnect(message: "connect failed", httpStatus: nil)
        } else if connection.state == .connecting {
            connection.wsi = wsi
        }
    }

    /// Client loop thread: drops the registry's reference.
    func forget(_ connection: ClientConnection) {
        connections.removeValue(forKey: ObjectIdentifier(connection))
    }

    /// Client loop thread. Dispatches one lws client callback.
    func handleCallback(wsi: OpaquePointer, reason: lws_callback_reasons,
                        input: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        if reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED {
            if core.isOnLoop { core.drainPending() }
            return 0
        }
        guard let raw = lws_get_opaque_user_data(wsi) else { return 0 }
        let connection = Unmanaged<ClientConnection>.fromOpaque(raw).takeUnretainedValue()
        switch reason {
        case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
            guard let input else { return 0 }
            let cursor = input.assumingMemoryBound(to: UnsafeMutablePointer<CChar>?.self)
            return connection.appendHandshakeHeaders(cursor, space: length) ? 0 : -1
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            let message = input.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? "connection error"
            var status = Int(lws_http_client_http_response(wsi))
            if status == 0, message.contains("unauthorized") { status = 401 }
            // The registry may hold the last reference: unhook it from the wsi first.
            lws_set_opaque_user_data(wsi, nil)
            connection.wsi = nil
            forget(connection)
            connection.failConnect(message: message, httpStatus: status == 0 ? nil : status)
            return 0
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            connection.wsi = wsi
            connection.handleEstablished()
            return 0
        case LWS_CALLBACK_CLIENT_RECEIVE:
            return connection.handleReceive(wsi: wsi, data: input, length: length)
        case LWS_CALLBACK_CLIENT_WRITEABLE:
            return connection.handleWriteable(wsi: wsi)
        case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
            if let input, length >= 2 {
                let bytes = input.assumingMemoryBound(to: UInt8.self)
                connection.peerCloseCode = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
            } else {
                connection.peerCloseCode = 1005
            }
            return 0
        case LWS_CALLBACK_CLIENT_CLOSED, LWS_CALLBACK_WSI_DESTROY:
            // Whichever comes first ends the connection; the slot is cleared, so the other finds nothing.
            lws_set_opaque_user_data(wsi, nil)
            connection.wsi = nil
            forget(connection)
            connection.finish()
            return 0
        default:
            return 0
        }
    }
}

/// The client protocol callback (client loop thread); finds the loop via the context user.
let clientCallback: @convention(c) (
    OpaquePointer?, lws_callback_reasons, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, Int
) -> Int32 = { wsi, reason, _, input, length in
    guard let wsi, let ctx = lws_get_context(wsi), let user = lws_context_user(ctx) else { return 0 }
    let loop = Unmanaged<WebSocketClientLoop>.fromOpaque(user).takeUnretainedValue()
    return loop.handleCallback(wsi: wsi, reason: reason, input: input, length: length)
}
