import CLibWebSockets
import Foundation
import HubLWS

/// One client WebSocket connection of a `WebSocketClientLoop`. The send/close methods
/// are callable from any thread (they hop to the client loop); everything else about
/// the connection lives on the loop thread.
// @unchecked Sendable: send and close hop to the client loop thread, which alone touches the wsi.
public final class ClientConnection: @unchecked Sendable {
    /// Lifecycle as seen by the loop.
    public enum State: Sendable, Equatable { case connecting, open, closed, failed }

    /// Unique per client loop.
    public let id: UInt64
    private weak var loop: WebSocketClientLoop?

    private let stateLock = NSLock()
    private var stateStorage: State = .connecting

    // Loop thread only.
    private var handler: WebSocketClientHandler?
    private let handshakeHeaders: [(String, String)]
    var wsi: OpaquePointer?
    var peerCloseCode: UInt16?
    private var outbound: [OutgoingFrame] = []
    private var outboundHead = 0
    private var rx: [UInt8] = []
    private var closeRequest: (code: UInt16, reason: String)?
    private var writeRequested = false

    struct OutgoingFrame {
        /// LWS_PRE headroom + payload (lws masks client frames in place).
        var buffer: [UInt8]
        var flags: lws_write_protocol
    }

    /// Any thread (from `WebSocketClientLoop.connect`).
    init(id: UInt64, loop: WebSocketClientLoop, handler: WebSocketClientHandler, headers: [(String, String)]) {
        self.id = id
        self.loop = loop
        self.handler = handler
        self.handshakeHeaders = headers
    }

    /// Current state. Any thread.
    public var state: State {
        stateLock.lock(); defer { stateLock.unlock() }
        return stateStorage
    }

    /// Client loop thread (or a connect failing off-loop).
    private func setState(_ new: State) {
        stateLock.lock(); stateStorage = new; stateLock.unlock()
    }

    // MARK: Any thread

    /// Sends one text message. Any thread; dropped unless the connection is open.
    public func sendText(_ bytes: [UInt8]) {
        enqueue([(bytes, LWS_WRITE_TEXT)])
    }

    /// Sends one text message. Any thread.
    public func sendText(_ text: String) { sendText(Array(text.utf8)) }

    /// Sends one binary message. Any thread.
    public func sendBinary(_ bytes: [UInt8]) {
        enqueue([(bytes, LWS_WRITE_BINARY)])
    }

    /// Sends one text message split into the given frames (first TEXT, then
    /// CONTINUATION, FIN on the last) — for testing reassembly. The bytes of all parts
    /// together must be valid UTF-8. Any thread.
    public func sendFragmentedText(_ parts: [[UInt8]]) {
        guard !parts.isEmpty else { return }
        var frames: [([UInt8], lws_write_protocol)] = []
        for (index, part) in parts.enumerated() {
            let base = index == 0 ? LWS_WRITE_TEXT.rawValue : LWS_WRITE_CONTINUATION.rawValue
            let noFin = index == parts.count - 1 ? 0 : LWS_WRITE_NO_FIN.rawValue
            frames.append((part, lws_write_protocol(rawValue: base | noFin)))
        }
        enqueue(frames)
    }

    /// Starts the closing handshake (after what is already queued). Any thread; idempotent.
    public func close(code: UInt16 = 1000, reason: String = "") {
        onLoop { connection in
            guard connection.closeRequest == nil, connection.state == .open else {
                if connection.state == .connecting, let wsi = connection.wsi {
                    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC)
                }
                return
            }
            connection.closeRequest = (code, reason)
            connection.requestWriteable()
        }
    }

    /// Any thread: prepares buffers here, queues on the client loop.
    private func enqueue(_ frames: [([UInt8], lws_write_protocol)]) {
        let prepared = frames.map { payload, flags -> OutgoingFrame in
            var buffer = [UInt8](repeating: 0, count: lwsPre + payload.count)
            buffer.replaceSubrange(lwsPre..., with: payload)
            return OutgoingFrame(buffer: buffer, flags: flags)
        }
        onLoop { connection in
            guard connection.state == .open, connection.closeRequest == nil else { return }
            connection.outbound.append(contentsOf: prepared)
            connection.requestWriteable()
        }
    }

    /// Any thread: runs `work` on the client loop (directly when already there).
    private func onLoop(_ work: @escaping (ClientConnection) -> Void) {
        guard let loop else { return }
        if loop.isOnLoop {
            work(self)
        } else {
            let box = LoopBound(work)
            loop.post { [self] in box.value(self) }
        }
    }

    // MARK: Loop thread

    /// Client loop thread.
    private func requestWriteable() {
        guard !writeRequested, let wsi else { return }
        writeRequested = true
        lws_callback_on_writable(wsi)
    }

    /// LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER (client loop thread): `cursor` points at lws's write pointer.
    func appendHandshakeHeaders(_ cursor: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, space: Int) -> Bool {
        guard var p = cursor.pointee else { return false }
        var remaining = space
        for (name, value) in handshakeHeaders {
            let line = Array("\(name): \(value)\r\n".utf8)
            guard line.count < remaining else { return false }
            line.withUnsafeBytes { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: line.count) }
            p += line.count
            remaining -= line.count
        }
        cursor.pointee = p
        return true
    }

    /// LWS_CALLBACK_CLIENT_ESTABLISHED (client loop thread).
    func handleEstablished() {
        setState(.open)
        handler?.onOpen(self)
    }

    /// LWS_CALLBACK_CLIENT_WRITEABLE (client loop thread): one frame per call.
    func handleWriteable(wsi: OpaquePointer) -> Int32 {
        writeRequested = false
        if outboundHead < outbound.count {
            var frame = outbound[outboundHead]
            outbound[outboundHead].buffer = []
            outboundHead += 1
            if outboundHead == outbound.count {
                outbound.removeAll(keepingCapacity: true)
                outboundHead = 0
            }
            let count = frame.buffer.count - lwsPre
            let written = frame.buffer.withUnsafeMutableBufferPointer { buffer in
                lws_write(wsi, buffer.baseAddress! + lwsPre, count, frame.flags)
            }
            if written < 0 { return -1 }
            if outboundHead < outbound.count || closeRequest != nil { requestWriteable() }
            return 0
        }
        if let request = closeRequest {
            var reason = Array(request.reason.utf8.prefix(123))
            reason.withUnsafeMutableBufferPointer { buffer in
                lws_close_reason(wsi, lws_close_status(rawValue: UInt32(request.code)), buffer.baseAddress, buffer.count)
            }
            return -1
        }
        return 0
    }

    /// LWS_CALLBACK_CLIENT_RECEIVE (client loop thread): reassembles messages.
    func handleReceive(wsi: OpaquePointer, data: UnsafeMutableRawPointer?, length: Int) -> Int32 {
        let chunk = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : length)
        let limit = loop?.config.maxMessageBytes ?? Int.max
        if rx.count + chunk.count > limit {
            rx = []
            var reason = Array("message too big".utf8)
            reason.withUnsafeMutableBufferPointer { buffer in
                lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, buffer.baseAddress, buffer.count)
            }
            return -1
        }
        rx.append(contentsOf: chunk)
        if lws_is_final_fragment(wsi) != 0 {
            let message = rx
            rx = []
            if lws_frame_is_binary(wsi) != 0 {
                handler?.onBinary(self, message)
            } else {
                handler?.onText(self, message)
            }
        }
        return 0
    }

    /// Client loop thread. Connecting failed (reported once).
    func failConnect(message: String, httpStatus: Int?) {
        guard state == .connecting else { return }
        setState(.failed)
        let handler = self.handler
        self.handler = nil
        outbound = []
        handler?.onConnectError(self, message: message, httpStatus: httpStatus)
    }

    /// Client loop thread. The connection is gone (reported once).
    func finish() {
        wsi = nil
        switch state {
        case .connecting:
            failConnect(message: "connection closed before the handshake completed", httpStatus: nil)
        case .open:
            setState(.closed)
            let handler = self.handler
            self.handler = nil
            outbound = []
            rx = []
            handler?.onClose(self, code: peerCloseCode ?? 1006)
        case .closed, .failed:
            break
        }
    }
}
