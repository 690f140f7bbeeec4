import Foundation
import HubCore

/// A client of the hub's WebSocket protocol (docs/PROTOCOL.md) that stays subscribed: when
/// the connection drops (hub restart, network, a 4008 slow-consumer close) it reconnects
/// with backoff and resubscribes each run with `since` = the last item `seq` it delivered,
/// so the item feed continues with no gap and no duplicate. It stops for good only on
/// `stop()` or when the hub refuses its credentials (HTTP 401/403, close 4401).
///
/// `subscribe`, `start`, `stop` and the read-only properties are callable from any thread;
/// `onEvent` and `onStatus` run on the client loop's thread, one at a time, in order.
// @unchecked Sendable: mutable state is touched on the client loop thread only; `progress` is under its lock.
public final class HubSubscriber: @unchecked Sendable {
    /// Where and as whom to connect, and how long to wait between attempts.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var path: String
        /// An API token (`chub_…`) with `admin.automation` (run topics) or `collection.view` (org topic).
        public var token: String
        /// Delay between reconnect attempts: doubles up to its maximum, reset once the hub says hello.
        public var backoff: Backoff

        public init(host: String = "127.0.0.1", port: Int, path: String = "/ws", token: String,
                    backoff: Backoff = Backoff(initial: .milliseconds(250), maximum: .seconds(30))) {
            self.host = host
            self.port = port
            self.path = path
            self.token = token
            self.backoff = backoff
        }
    }

    /// Where the subscriber is.
    public enum Status: Sendable, Equatable {
        case connecting
        /// Connected; the hub said hello and the subscriptions are sent.
        case open
        /// Waiting this long before the next attempt.
        case waiting(Duration)
        /// Stopped by `stop()` or because the hub refused the credentials (the reason).
        case stopped(String)
    }

    private let configuration: Configuration
    private let loop: WebSocketClientLoop
    private let ownedLoop: WebSocketClientLoop?
    private let onEvent: @Sendable (HubEvent) -> Void
    private let onStatus: @Sendable (Status) -> Void

    // Client loop thread only.
    private var topics: [Topic] = []
    private var connection: ClientConnection?
    private var attempt: UInt64 = 0
    private var backoff: Backoff
    private var random = SystemRandomNumberGenerator()
    private var started = false
    private var stopped = false

    private let lock = NSLock()
    private var progress = Progress()

    /// Seen from any thread: the last item per run, and how many times the hub said hello.
    private struct Progress {
        var lastSeq: [UUID: Int64] = [:]
        var sessions = 0
    }

    /// Nothing happens until `start()`. `loop` shares one client loop between many
    /// subscribers; without it the subscriber runs its own, stopped when it goes away.
    public init(_ configuration: Configuration, loop: WebSocketClientLoop? = nil,
                onStatus: @escaping @Sendable (Status) -> Void = { _ in },
                onEvent: @escaping @Sendable (HubEvent) -> Void) {
        self.configuration = configuration
        self.ownedLoop = loop == nil ? WebSocketClientLoop() : nil
        self.loop = loop ?? ownedLoop!
        self.backoff = configuration.backoff
        self.onEvent = onEvent
        self.onStatus = onStatus
    }

    deinit {
        connection?.close()
        ownedLoop?.stop()
    }

    /// Follows one run: every item after `since` (nil: a snapshot of the latest items, then
    /// live). After a reconnect it resumes after the last item delivered. Any thread.
    public func subscribe(run: UUID, since: Int64? = nil) {
        if let since {
            lock.lock(); progress.lastSeq[run] = since; lock.unlock()
        }
        subscribe(.run(run))
    }

    /// Follows the org topic (run status changes and the badge). Any thread.
    public func subscribeOrg() { subscribe(.org) }

    private func subscribe(_ topic: Topic) {
        loop.post { [self] in
            guard !topics.contains(topic) else { return }
            topics.append(topic)
            if connection?.state == .open { send(subscription: topic) }
        }
    }

    /// Connects (once; later calls do nothing). Any thread.
    public func start() {
        loop.post { [self] in
            guard !started, !stopped else { return }
            started = true
            connect()
        }
    }

    /// Closes the connection and stops reconnecting. Any thread; idempotent.
    public func stop() {
        loop.post { [self] in finish("stopped") }
    }

    /// The `seq` of the last item (or seller) of `run` delivered, or the `since` given. Any thread.
    public func lastSeq(run: UUID) -> Int64? {
        lock.lock(); defer { lock.unlock() }
        return progress.lastSeq[run]
    }

    /// How many connections the hub has greeted so far (1 until the first reconnect). Any thread.
    public var sessions: Int {
        lock.lock(); defer { lock.unlock() }
        return progress.sessions
    }

    // MARK: Client loop thread

    private func connect() {
        attempt += 1
        onStatus(.connecting)
        connection = loop.connect(host: configuration.host, port: configuration.port, path: configuration.path,
                                  headers: [("Authorization", "Bearer \(configuration.token)")],
                                  subprotocol: "collection-hub.v1",
                                  handler: Link(subscriber: self, attempt: attempt))
    }

    /// A connection of an earlier attempt reports nothing.
    fileprivate func isCurrent(_ link: Link) -> Bool { link.attempt == attempt && !stopped }

    fileprivate func received(_ bytes: [UInt8]) {
        guard let events = HubEvent.parse(frame: bytes) else { return }
        for event in events {
            if event.type == "hello" {
                backoff.reset()
                lock.lock(); progress.sessions += 1; lock.unlock()
                onStatus(.open)
                for topic in topics { send(subscription: topic) }
            } else if event.isItem, let run = event.run, let seq = event.seq {
                lock.lock(); progress.lastSeq[run] = max(progress.lastSeq[run] ?? 0, seq); lock.unlock()
            } else if event.type == "snapshot", let run = event.topic.flatMap(Topic.init).flatMap(Self.runID),
                      let seq = event.seq {
                // A snapshot without `since` shows the run as of `seq`: resume after it.
                lock.lock()
                if progress.lastSeq[run] == nil { progress.lastSeq[run] = seq }
                lock.unlock()
            }
            onEvent(event)
        }
    }

    private func send(subscription topic: Topic) {
        var message = "{\"type\":\"subscribe\",\"topic\":\"\(topic)\""
        if case .run(let id) = topic, let since = lastSeq(run: id) { message += ",\"since\":\(since)" }
        connection?.sendText(message + "}")
    }

    /// The connection ended or never opened: retry after the backoff, unless the hub
    /// refused who we are (retrying would not change its mind).
    fileprivate func lost(refused: String?) {
        connection = nil
        if let refused { return finish(refused) }
        let delay = backoff.next(random: &random)
        let retry = attempt
        onStatus(.waiting(delay))
        let (seconds, attoseconds) = delay.components
        DispatchQueue.global().asyncAfter(deadline: .now() + Double(seconds) + Double(attoseconds) / 1e18) { [weak self] in
            self?.loop.post { [weak self] in
                guard let self, !self.stopped, self.attempt == retry else { return }
                self.connect()
            }
        }
    }

    private func finish(_ reason: String) {
        guard !stopped else { return }
        stopped = true
        connection?.close()
        connection = nil
        onStatus(.stopped(reason))
    }

    private static func runID(_ topic: Topic) -> UUID? {
        if case .run(let id) = topic { return id }
        return nil
    }

    /// The handler of one connection attempt: forwards to the subscriber while that attempt is current.
    fileprivate final class Link: WebSocketClientHandler {
        weak var subscriber: HubSubscriber?
        let attempt: UInt64

        init(subscriber: HubSubscriber, attempt: UInt64) {
            self.subscriber = subscriber
            self.attempt = attempt
        }

        private var current: HubSubscriber? {
            guard let subscriber, subscriber.isCurrent(self) else { return nil }
            return subscriber
        }

        func onText(_ connection: ClientConnection, _ bytes: [UInt8]) { current?.received(bytes) }

        func onClose(_ connection: ClientConnection, code: UInt16) {
            current?.lost(refused: code == CloseCode.unauthorized ? "closed \(code)" : nil)
        }

        func onConnectError(_ connection: ClientConnection, message: String, httpStatus: Int?) {
            let refused = httpStatus == 401 || httpStatus == 403
            current?.lost(refused: refused ? "HTTP \(httpStatus ?? 0): \(message)" : nil)
        }
    }
}
