import Foundation

/// Why a blocking client call failed.
public struct WebSocketClientError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// HTTP status of a refused upgrade (e.g. 401), when known.
    public let httpStatus: Int?

    public var description: String {
        httpStatus.map { "\(message) (HTTP \($0))" } ?? message
    }
}

/// A blocking WebSocket client for tests and tools. Every wait is bounded by a timeout.
/// Uses a shared `WebSocketClientLoop` if given, else a private one stopped by `close()`.
/// Any thread (not the client loop thread).
// @unchecked Sendable: received messages sit in the Inbox under its lock; sends hop to the client loop.
public final class SimpleWebSocketClient: @unchecked Sendable {
    /// Events as the loop delivered them.
    public enum Event: Sendable, Equatable {
        case text([UInt8])
        case binary([UInt8])
        case closed(code: UInt16)
    }

    public let connection: ClientConnection
    private let inbox: Inbox
    private let ownedLoop: WebSocketClientLoop?

    /// Connects and waits (at most `timeout`) for the handshake. Throws
    /// `WebSocketClientError` on refusal (with the HTTP status when known) or timeout.
    public static func connect(
        host: String = "127.0.0.1", port: Int, path: String = "/ws",
        headers: [(String, String)] = [], subprotocol: String? = nil,
        loop: WebSocketClientLoop? = nil, timeout: Duration = .seconds(5)
    ) throws -> SimpleWebSocketClient {
        let owned = loop == nil ? WebSocketClientLoop() : nil
        let useLoop = loop ?? owned!
        let inbox = Inbox()
        let connection = useLoop.connect(host: host, port: port, path: path, headers: headers,
                                         subprotocol: subprotocol, handler: inbox)
        switch inbox.waitForOutcome(timeout: timeout) {
        case .open:
            return SimpleWebSocketClient(connection: connection, inbox: inbox, ownedLoop: owned)
        case .failed(let message, let status):
            owned?.stop()
            throw WebSocketClientError(message: message, httpStatus: status)
        case .timedOut:
            connection.close()
            owned?.stop()
            throw WebSocketClientError(message: "timed out connecting to \(host):\(port)\(path)", httpStatus: nil)
        }
    }

    /// Calling thread, once connected.
    private init(connection: ClientConnection, inbox: Inbox, ownedLoop: WebSocketClientLoop?) {
        self.connection = connection
        self.inbox = inbox
        self.ownedLoop = ownedLoop
    }

    deinit {
        connection.close()
        ownedLoop?.stop()
    }

    /// Sends a text message (see `ClientConnection`). Any thread.
    public func send(_ text: String) { connection.sendText(text) }
    /// Sends a text message. Any thread.
    public func sendText(_ bytes: [UInt8]) { connection.sendText(bytes) }
    /// Sends a binary message. Any thread.
    public func sendBinary(_ bytes: [UInt8]) { connection.sendBinary(bytes) }
    /// Sends one text message as several frames. Any thread.
    public func sendFragmentedText(_ parts: [[UInt8]]) { connection.sendFragmentedText(parts) }

    /// Next event (message or close), or nil after `timeout`.
    public func nextEvent(timeout: Duration = .seconds(5)) -> Event? {
        inbox.next(timeout: timeout)
    }

    /// Next text message, or nil on timeout or when the connection closed first (the
    /// close stays observable through `waitForClose`).
    public func receive(timeout: Duration = .seconds(5)) -> [UInt8]? {
        guard let event = inbox.next(timeout: timeout, stopAtClose: true) else { return nil }
        if case .text(let bytes) = event { return bytes }
        return nil
    }

    /// `receive` decoded as UTF-8.
    public func receiveString(timeout: Duration = .seconds(5)) -> String? {
        receive(timeout: timeout).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Waits until the connection closed, skipping messages; returns the close code, or
    /// nil on timeout.
    public func waitForClose(timeout: Duration = .seconds(5)) -> UInt16? {
        inbox.waitForClose(timeout: timeout)
    }

    /// Closes (handshake bounded by `timeout`) and stops a private loop.
    public func close(code: UInt16 = 1000, timeout: Duration = .seconds(2)) {
        connection.close(code: code)
        _ = inbox.waitForClose(timeout: timeout)
        ownedLoop?.stop()
    }

    /// Collects the handler callbacks (client loop thread) for blocking readers (any
    /// other thread).
    // @unchecked Sendable: written on the client loop thread and read by waiting threads, all under its lock.
    final class Inbox: WebSocketClientHandler, @unchecked Sendable {
        enum Outcome { case open, failed(String, Int?), timedOut }

        private let condition = NSCondition()
        private var opened = false
        private var failure: (String, Int?)?
        private var events: [Event] = []
        private var closeCode: UInt16?

        func onOpen(_ connection: ClientConnection) {
            condition.lock(); opened = true; condition.broadcast(); condition.unlock()
        }

        func onText(_ connection: ClientConnection, _ bytes: [UInt8]) {
            condition.lock(); events.append(.text(bytes)); condition.broadcast(); condition.unlock()
        }

        func onBinary(_ connection: ClientConnection, _ bytes: [UInt8]) {
            condition.lock(); events.append(.binary(bytes)); condition.broadcast(); condition.unlock()
        }

        func onClose(_ connection: ClientConnection, code: UInt16) {
            condition.lock()
            closeCode = code
            events.append(.closed(code: code))
            condition.broadcast()
            condition.unlock()
        }

        func onConnectError(_ connection: ClientConnection, message: String, httpStatus: Int?) {
            condition.lock(); failure = (message, httpStatus); condition.broadcast(); condition.unlock()
        }

        private func deadline(_ timeout: Duration) -> Date {
            let (s, atto) = timeout.components
            return Date(timeIntervalSinceNow: Double(s) + Double(atto) / 1e18)
        }

        func waitForOutcome(timeout: Duration) -> Outcome {
            let until = deadline(timeout)
            condition.lock()
            defer { condition.unlock() }
            while true {
                if opened { return .open }
                if let failure { return .failed(failure.0, failure.1) }
                if !condition.wait(until: until) {
                    if opened { return .open }
                    if let failure { return .failed(failure.0, failure.1) }
                    return .timedOut
                }
            }
        }

        func next(timeout: Duration, stopAtClose: Bool = false) -> Event? {
            let until = deadline(timeout)
            condition.lock()
            defer { condition.unlock() }
            while true {
                if let first = events.first {
                    if stopAtClose, case .closed = first { return nil }
                    events.removeFirst()
                    return first
                }
                if !condition.wait(until: until) { return nil }
            }
        }

        func waitForClose(timeout: Duration) -> UInt16? {
            let until = deadline(timeout)
            condition.lock()
            defer { condition.unlock() }
            while closeCode == nil && failure == nil {
                if !condition.wait(until: until) { break }
            }
            return closeCode
        }
    }
}
