import CLibWebSockets
import Foundation

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

    // unowned(unsafe): only read on the loop thread, behind `assertOnLoop()` or inside an lws
    // callback for this session, and only while `wsi` is set; the service thread keeps the
    // loop alive while lws runs, and `wsi` is cleared (markClosed) before the context goes.
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
    /// Loop thread. `atOnce: false` leaves the frame for the socket's next writable turn,
    /// where it merges with the frames queued after it.
    public func send(_ frame: SharedFrame, atOnce: Bool = true) {
        assertOnLoop()
        guard isOpen else { return }
        let limit = loop.config.maxQueuedBytesPerSession
        if limit > 0 && queuedBytes + frame.count > limit {
            closeImmediately(code: 1008, reason: "send queue overflow")
            return
        }
        if atOnce, loop.config.directWrites, writeDirectly(frame) { return }
        frames.append(frame)
        queuedBytes += frame.count
        requestWriteable()
    }

    /// Writes `frame` at once when nothing is queued or pending: one send() instead of one
    /// send() plus a poll() round trip through WRITEABLE (answers to the client's own
    /// messages; fan-out waves are queued so they merge). lws keeps whatever the kernel does
    /// not accept and says so through `lws_partial_buffered` until it is flushed, so order is
    /// kept. Not
    /// `lws_send_pipe_choked`: it adds a poll() per client per wave (the largest user-space
    /// cost in a profile at full rate) to learn what the send() itself tells. Loop thread.
    private func writeDirectly(_ frame: SharedFrame) -> Bool {
        guard head == frames.count, !writeRequested, closeRequest == nil, let wsi,
              lws_partial_buffered(wsi) == 0 else { return false }
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
            let maxBytes = loop.config.maxFrameBytes
            var size = first.count
            while head + taken < frames.count {
                let next = frames[head + taken]
                guard next.isMergeableJSONArray, size + next.count - 1 <= maxBytes else { break }
                size += next.count - 1  // "[x]" + "[y]" → "[x,y]"
                taken += 1
            }
            if taken > 1 {
                let merged = loop.mergedFrames.merged(frames[head..<(head + taken)])
                written = lws_write(wsi, merged.payloadPointer, merged.count, LWS_WRITE_TEXT)
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
