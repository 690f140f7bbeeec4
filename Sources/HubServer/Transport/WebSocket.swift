import CLibWebSockets
import Foundation

// MARK: - Public WebSocket types

/// What a WebSocket client asked for, shown to `WebSocketHandler.shouldAccept` before the
/// upgrade is answered.
public struct UpgradeRequest: Sendable {
    /// Decoded path (always `HubLoopConfig.wsPath` here).
    public let path: String
    /// Decoded query arguments joined with `&` (see `HTTPRequest.query`).
    public let query: String
    public let queryItems: [(name: String, value: String)]
    /// All request headers, lowercased names.
    public let headers: HTTPHeaders
    /// The raw `Sec-WebSocket-Protocol` list the client offered (nil when none).
    public let requestedSubprotocols: String?
    public let peerAddress: String

    /// Builds an upgrade request (the transport does this; public for handler tests).
    public init(path: String, query: String = "", queryItems: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), requestedSubprotocols: String? = nil, peerAddress: String = "") {
        self.path = path
        self.query = query
        self.queryItems = queryItems
        self.headers = headers
        self.requestedSubprotocols = requestedSubprotocols
        self.peerAddress = peerAddress
    }

    /// First value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? { headers[name] }
    /// First value of query argument `name`.
    public func queryValue(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }
}

/// The answer to an upgrade request.
public enum UpgradeDecision {
    /// Proceed with the upgrade; `userInfo` is attached to the session.
    case accept(userInfo: AnyObject? = nil)
    /// Answer with a plain HTTP response (e.g. 401/403 + JSON) instead of upgrading.
    case reject(status: Int, headers: [(String, String)] = [], body: [UInt8])

    /// Reject with `{"error":{"code":…,"message":…}}`.
    public static func rejectJSON(status: Int, code: String, message: String,
                                  headers: [(String, String)] = []) -> UpgradeDecision {
        .reject(status: status, headers: [("Content-Type", "application/json")] + headers,
                body: jsonErrorBody(code: code, message: message))
    }
}

/// Serves WebSocket sessions. Every method is called on the loop thread.
public protocol WebSocketHandler: AnyObject {
    /// Decide whether to upgrade. Called while the request is still plain HTTP, so a
    /// rejection reaches the client as a real HTTP status (401/403...) with a body.
    func shouldAccept(_ request: UpgradeRequest) -> UpgradeDecision
    /// The session is established; it may be sent to from now on.
    func didOpen(_ session: WebSocketSession)
    /// One complete text message (fragments reassembled, UTF-8 validated by lws). The
    /// buffer is only valid during the call.
    func didReceive(_ session: WebSocketSession, text: UnsafeRawBufferPointer)
    /// The session is gone (after `didOpen` only). Sending is a no-op from now on.
    func didClose(_ session: WebSocketSession)
}

/// An immutable outgoing WebSocket text frame whose bytes are stored once, with
/// `LWS_PRE` bytes of headroom, so the same object can be queued on thousands of sessions
/// and written by each straight from its buffer. (Server frames are unmasked: the frame
/// header lws writes into the headroom is identical for every session, and all writes
/// happen on the single loop thread.) May be created on any thread.
// @unchecked Sendable: immutable after init apart from the lws header headroom, written on the single loop thread.
public final class SharedFrame: @unchecked Sendable {
    let storage: UnsafeMutableRawPointer
    /// Payload length in bytes.
    public let count: Int
    /// Whether this frame may be merged with neighbours into one JSON array frame.
    public let isMergeableJSONArray: Bool
    /// For mergeable frames: true when the array has no elements (`[]`, `[ ]`).
    let isEmptyArray: Bool

    /// A frame carrying a copy of `payload`. With `mergeableJSONArray: true` the payload
    /// must be a JSON array (`[` … `]`, no surrounding whitespace; otherwise the flag is
    /// ignored); consecutive such frames queued on one session may then be sent as a
    /// single array `[a…, b…]` (see `HubLoopConfig.mergeJSONArrayFrames`).
    public convenience init(_ payload: UnsafeRawBufferPointer, mergeableJSONArray: Bool = false) {
        self.init(count: payload.count, mergeableJSONArray: mergeableJSONArray) { destination in
            if payload.count > 0 { destination.copyMemory(from: payload) }
        }
    }

    /// A frame carrying a copy of `bytes`.
    public convenience init(bytes: [UInt8], mergeableJSONArray: Bool = false) {
        self.init(count: bytes.count, mergeableJSONArray: mergeableJSONArray) { destination in
            bytes.withUnsafeBytes { if $0.count > 0 { destination.copyMemory(from: $0) } }
        }
    }

    /// A frame carrying the UTF-8 of `text`.
    public convenience init(text: String, mergeableJSONArray: Bool = false) {
        var text = text
        let count = text.utf8.count
        self.init(count: count, mergeableJSONArray: mergeableJSONArray) { destination in
            text.withUTF8 { if $0.count > 0 { destination.copyMemory(from: UnsafeRawBufferPointer($0)) } }
        }
    }

    private init(count: Int, mergeableJSONArray: Bool, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        self.count = count
        storage = UnsafeMutableRawPointer.allocate(byteCount: lwsPre + max(count, 1), alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: lwsPre)
        let payload = UnsafeMutableRawBufferPointer(start: storage + lwsPre, count: count)
        fill(payload)
        let looksLikeArray = count >= 2 && payload[0] == UInt8(ascii: "[") && payload[count - 1] == UInt8(ascii: "]")
        isMergeableJSONArray = mergeableJSONArray && looksLikeArray
        isEmptyArray = isMergeableJSONArray && payload[1..<(count - 1)].allSatisfy {
            $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D
        }
    }

    deinit { storage.deallocate() }

    /// Read access to the payload bytes.
    public func withPayload<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage + lwsPre, count: count))
    }

    /// Copy of the payload.
    public var bytes: [UInt8] { withPayload { Array($0) } }

    var payloadPointer: UnsafeMutablePointer<UInt8> {
        (storage + lwsPre).assumingMemoryBound(to: UInt8.self)
    }
}

/// One established WebSocket connection. Loop thread only (use `HubLoop.post` to reach
/// it from elsewhere). Small by design: an outgoing FIFO of frame references, the headers
/// captured at upgrade, and a receive buffer that only exists while a fragmented message
/// is being reassembled.
public final class WebSocketSession {
    /// Unique per loop, increasing.
    public let id: UInt64
    /// Whatever `shouldAccept` attached (e.g. the authenticated principal).
    public var userInfo: AnyObject?
    /// Request path and decoded query of the upgrade request.
    public let path: String
    public let query: String
    /// Headers captured at upgrade (each costs its length in memory per session; call
    /// `forgetCapturedHeaders()` once they are no longer needed).
    public private(set) var authorization: String?
    public private(set) var cookie: String?
    public private(set) var origin: String?
    public let peerAddress: String
    /// Close code the peer sent, if it initiated the close.
    public internal(set) var peerCloseCode: UInt16?

    /// Payload bytes queued and not yet handed to the kernel.
    public private(set) var queuedBytes: Int = 0

    unowned(unsafe) let loop: HubLoop
    private let loopToken: UnsafeMutableRawPointer
    var wsi: OpaquePointer?
    var opened = false
    private var frames: [SharedFrame] = []
    private var head = 0
    private var rx: [UInt8] = []
    private var writeRequested = false
    private var closeRequest: (code: UInt16, reason: String, flushFirst: Bool)?

    /// Loop thread (HTTP_CONFIRM_UPGRADE).
    init(id: UInt64, loop: HubLoop, wsi: OpaquePointer, userInfo: AnyObject?, request: UpgradeRequest) {
        self.id = id
        self.loop = loop
        self.loopToken = loop.core.token
        self.wsi = wsi
        self.userInfo = userInfo
        self.path = request.path
        self.query = request.query
        self.authorization = request.headers["authorization"]
        self.cookie = request.headers["cookie"]
        self.origin = request.headers["origin"]
        self.peerAddress = request.peerAddress
    }

    /// Drops `authorization`, `cookie` and `origin` (e.g. after authenticating) to keep
    /// idle sessions small. Loop thread.
    public func forgetCapturedHeaders() {
        assertOnLoop()
        authorization = nil
        cookie = nil
        origin = nil
    }

    @inline(__always) private func assertOnLoop() {
        precondition(pthread_getspecific(loopThreadKey) == loopToken, "WebSocketSession used off its loop thread")
    }

    /// True from `didOpen` until a close was requested or happened.
    public var isOpen: Bool { opened && wsi != nil && closeRequest == nil }

    /// Number of frames queued.
    public var queuedFrames: Int { frames.count - head }

    /// Queues `frame` (no copy). Written in order, one frame (or one merged frame) per
    /// writeable callback. Ignored once closing/closed. If more than
    /// `maxQueuedBytesPerSession` would be queued the session is closed with 1008
    /// (lws 4.1 peers turn 1012–1014 into 1002, so "try again later" is not usable).
    /// Loop thread.
    public func send(_ frame: SharedFrame) {
        assertOnLoop()
        guard isOpen else { return }
        let limit = loop.config.maxQueuedBytesPerSession
        if limit > 0 && queuedBytes + frame.count > limit {
            closeImmediately(code: 1008, reason: "send queue overflow")
            return
        }
        if loop.config.directWrites, writeDirectly(frame) { return }
        frames.append(frame)
        queuedBytes += frame.count
        requestWriteable()
    }

    /// Writes `frame` at once when nothing is queued or pending and the socket can take
    /// it: a fan-out wave then costs one send() per client instead of one send() plus a
    /// poll() round trip through WRITEABLE. lws buffers whatever the kernel does not
    /// accept and reports the pipe choked until it is flushed, so order is kept. Loop thread.
    private func writeDirectly(_ frame: SharedFrame) -> Bool {
        guard head == frames.count, !writeRequested, closeRequest == nil, let wsi,
              lws_send_pipe_choked(wsi) == 0 else { return false }
        if lws_write(wsi, frame.payloadPointer, frame.count, LWS_WRITE_TEXT) < 0 {
            closeImmediately(code: 1011, reason: "write failed")
        }
        return true
    }

    /// Queues a text message owned by this session only. Loop thread.
    public func sendText(_ bytes: [UInt8]) {
        send(SharedFrame(bytes: bytes))
    }

    /// Queues a text message owned by this session only. Loop thread.
    public func sendText(_ text: String) {
        send(SharedFrame(text: text))
    }

    /// Closes with `code`/`reason` after the frames already queued are written. Loop
    /// thread; idempotent. `didClose` follows once lws has closed the connection.
    public func close(code: UInt16 = 1000, reason: String = "") {
        assertOnLoop()
        guard isOpen else { return }
        closeRequest = (code, reason, true)
        requestWriteable()
    }

    /// Loop thread. Drops everything queued and closes right away.
    func closeImmediately(code: UInt16, reason: String) {
        guard wsi != nil, closeRequest == nil || closeRequest?.flushFirst == true else { return }
        dropQueue()
        closeRequest = (code, reason, false)
        requestWriteable()
    }

    /// Loop thread.
    private func requestWriteable() {
        guard !writeRequested, let wsi else { return }
        writeRequested = true
        lws_callback_on_writable(wsi)
    }

    /// Loop thread.
    private func dropQueue() {
        frames = []
        head = 0
        queuedBytes = 0
    }

    // MARK: lws events (loop thread)

    /// LWS_CALLBACK_SERVER_WRITEABLE (loop thread): one frame (possibly merged) per call.
    func handleWriteable(wsi: OpaquePointer) -> Int32 {
        writeRequested = false
        if let request = closeRequest, !request.flushFirst || head == frames.count {
            var reason = Array(request.reason.utf8.prefix(123))
            reason.withUnsafeMutableBufferPointer { buffer in
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(request.code)), buffer.baseAddress, buffer.count)
            }
            return -1
        }
        guard head < frames.count else { return 0 }

        let first = frames[head]
        var taken = 1
        var written: Int32
        if loop.config.mergeJSONArrayFrames && first.isMergeableJSONArray {
            let maxBytes = min(loop.config.maxFrameBytes, loop.scratchCapacity)
            var size = first.count
            while head + taken < frames.count {
                let next = frames[head + taken]
                guard next.isMergeableJSONArray, size + next.count - 1 <= maxBytes else { break }
                size += next.count - 1  // "[x]" + "[y]" → "[x,y]"
                taken += 1
            }
            if taken > 1 {
                let out = (loop.scratch + lwsPre).assumingMemoryBound(to: UInt8.self)
                var n = 0
                out[n] = UInt8(ascii: "["); n += 1
                var wroteAny = false
                for frame in frames[head..<(head + taken)] where !frame.isEmptyArray {
                    if wroteAny { out[n] = UInt8(ascii: ","); n += 1 }
                    let interior = frame.count - 2
                    (out + n).update(from: frame.payloadPointer + 1, count: interior)
                    n += interior
                    wroteAny = true
                }
                out[n] = UInt8(ascii: "]"); n += 1
                written = lws_write(wsi, out, n, LWS_WRITE_TEXT)
            } else {
                written = lws_write(wsi, first.payloadPointer, first.count, LWS_WRITE_TEXT)
            }
        } else {
            written = lws_write(wsi, first.payloadPointer, first.count, LWS_WRITE_TEXT)
        }
        // lws keeps whatever the kernel did not take and won't call us until it is flushed.
        if written < 0 { return -1 }

        for i in head..<(head + taken) { queuedBytes -= frames[i].count }
        head += taken
        if head == frames.count {
            frames.removeAll(keepingCapacity: frames.capacity <= 16)
            head = 0
        } else if head >= 64 && head * 2 >= frames.count {
            frames.removeFirst(head)
            head = 0
        }
        if head < frames.count || closeRequest != nil { requestWriteable() }
        return 0
    }

    /// LWS_CALLBACK_RECEIVE (loop thread): reassembles text messages and enforces the limits.
    func handleReceive(wsi: OpaquePointer, data: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        guard opened else { return 0 }
        if lws_frame_is_binary(wsi) != 0 {
            rx = []
            return closeNow(wsi, code: 1003, reason: "binary frames are not supported")
        }
        let limit = loop.config.maxIncomingMessageBytes
        let isFinal = lws_is_final_fragment(wsi) != 0
        let chunk = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : length)
        if rx.isEmpty && isFinal {
            if chunk.count > limit { return closeNow(wsi, code: 1009, reason: "message too big") }
            if closeRequest == nil { loop.webSocketHandler?.didReceive(self, text: chunk) }
            return 0
        }
        if rx.count + chunk.count > limit {
            rx = []
            return closeNow(wsi, code: 1009, reason: "message too big")
        }
        rx.append(contentsOf: chunk)
        if isFinal {
            let message = rx
            rx = []
            if closeRequest == nil {
                message.withUnsafeBytes { loop.webSocketHandler?.didReceive(self, text: $0) }
            }
        }
        return 0
    }

    /// Loop thread, inside RECEIVE: sets the close reason; the caller returns -1.
    private func closeNow(_ wsi: OpaquePointer, code: UInt16, reason: String) -> Int32 {
        dropQueue()
        closeRequest = (code, reason, false)
        var bytes = Array(reason.utf8.prefix(123))
        bytes.withUnsafeMutableBufferPointer { buffer in
            lws_close_reason(wsi, lws_close_status(rawValue: UInt32(code)), buffer.baseAddress, buffer.count)
        }
        return -1
    }

    /// Loop thread. The connection is gone: forget lws state. Returns whether `didOpen` had happened.
    func markClosed() -> Bool {
        let wasOpen = opened
        wsi = nil
        opened = false
        dropQueue()
        rx = []
        return wasOpen
    }
}

// MARK: - WebSocket callbacks (loop thread)

extension HubLoop {
    /// LWS_CALLBACK_HTTP_CONFIRM_UPGRADE (loop thread): the last moment the request is still HTTP. Path
    /// check and `shouldAccept` happen here so that a rejection is a real HTTP response.
    /// Returns 0 to continue the upgrade, 1 after writing a rejection, -1 to hang up.
    func confirmUpgrade(wsi: OpaquePointer, upgrade: UnsafeMutableRawPointer?) -> Int32 {
        preconditionOnLoop()
        let kind = upgrade.map { String(cString: $0.assumingMemoryBound(to: CChar.self)) } ?? ""
        guard kind.lowercased() == "websocket" else {
            // e.g. "h2c": lws 4.1 cannot decline an upgrade and go on as HTTP/1.1.
            _ = writeImmediateResponse(wsi: wsi, status: 400, headers: [],
                                       body: jsonErrorBody(code: "upgrade_not_supported", message: "unsupported upgrade: \(kind)"))
            return 1
        }
        var uri: UnsafeMutablePointer<CChar>?
        var uriLength: Int32 = 0
        let path: String
        if lws_http_get_uri_and_method(wsi, &uri, &uriLength) >= 0, let uri {
            path = String(decoding: UnsafeRawBufferPointer(start: uri, count: Int(uriLength)), as: UTF8.self)
        } else {
            path = ""
        }
        if existingBox(wsi)?.overAddressCap == true {
            limits.noteRefusedPerAddress()
            _ = writeImmediateResponse(wsi: wsi, status: 429, headers: [],
                                       body: jsonErrorBody(code: "too_many_connections",
                                                           message: "too many connections from \(LWSHeaders.peerAddress(wsi))"))
            return 1
        }
        guard path == config.wsPath else {
            _ = writeImmediateResponse(wsi: wsi, status: 404, headers: [],
                                       body: jsonErrorBody(code: "not_found", message: "no WebSocket endpoint at this path"))
            return 1
        }
        let fragments = LWSHeaders.queryFragments(wsi)
        let headers = HTTPHeaders(LWSHeaders.capture(wsi, extra: config.extraRequestHeaders))
        // lws picks the first offered name that matches ANY protocol of the vhost (it would
        // hang up on no match): answer unusable offers with a proper 400 instead.
        let offered = (headers["sec-websocket-protocol"] ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !offered.isEmpty && (!offered.contains(config.wsProtocolName) || offered.contains(HubLoop.rawProtocolName)) {
            _ = writeImmediateResponse(wsi: wsi, status: 400, headers: [],
                                       body: jsonErrorBody(code: "unsupported_subprotocol",
                                                           message: "supported subprotocol: \(config.wsProtocolName)"))
            return 1
        }
        let request = UpgradeRequest(
            path: path, query: fragments.joined(separator: "&"),
            queryItems: fragments.map { fragment in
                if let eq = fragment.firstIndex(of: "=") {
                    return (String(fragment[..<eq]), String(fragment[fragment.index(after: eq)...]))
                }
                return (fragment, "")
            },
            headers: headers, requestedSubprotocols: headers["sec-websocket-protocol"],
            peerAddress: LWSHeaders.peerAddress(wsi))
        guard let handler = webSocketHandler else { return -1 }
        switch handler.shouldAccept(request) {
        case .reject(let status, let extraHeaders, let body):
            return writeImmediateResponse(wsi: wsi, status: status, headers: extraHeaders, body: body) ? 1 : -1
        case .accept(let userInfo):
            let box = box(for: wsi)
            box.http?.detach()
            box.http = nil
            nextSessionID += 1
            box.session = WebSocketSession(id: nextSessionID, loop: self, wsi: wsi, userInfo: userInfo, request: request)
            return 0
        }
    }

    /// LWS_CALLBACK_ESTABLISHED (loop thread).
    func webSocketEstablished(wsi: OpaquePointer) -> Int32 {
        preconditionOnLoop()
        guard let session = existingBox(wsi)?.session else { return -1 }
        session.opened = true
        if config.socketSendBufferBytes > 0 {
            var size = Int32(clamping: config.socketSendBufferBytes)
            setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        sessions[session.id] = session
        webSocketHandler?.didOpen(session)
        return 0
    }

    /// LWS_CALLBACK_CLOSED, or WSI_DESTROY without CLOSED (loop thread).
    func webSocketClosed(_ session: WebSocketSession) {
        sessions.removeValue(forKey: session.id)
        if session.markClosed() {
            webSocketHandler?.didClose(session)
        }
    }
}
