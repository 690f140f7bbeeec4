import Foundation
import HubCore
import HubStore
import Logging

/// The LISTEN connection, inside the loop: a dup of its socket is adopted as a raw file
/// descriptor, so notifications are read when the loop sees it readable (no thread, no
/// polling timer). When the connection dies it is rebuilt with backoff and `onReconnected`
/// lets the fan-out read what it missed.
// @unchecked Sendable: its connection and timers are touched on the loop thread only; the connect runs on a worker and posts back.
final class NotificationListener: @unchecked Sendable {
    private let conninfo: String
    private let logger: Logger
    private weak var loop: HubLoop?
    /// A turn's notifications, and whether it stopped at its drain with more waiting.
    private let onNotifications: (_ notes: [PostgresNotification], _ leftWaiting: Bool) -> Void
    private let onStateChange: (_ connected: Bool, _ reconnect: Bool) -> Void
    /// How much one loop turn reads (a fresh copy per turn).
    private let drainLimit: ListenDrain
    // Loop thread only.
    private var connection: PostgresConnection?
    /// Owns the dup of the libpq socket once adopted (the loop closes it).
    private var adopted: AdoptedDescriptor?
    private var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5), jitter: 0.2)
    private var everConnected = false
    private var stopped = false
    private var rng = SystemRandomNumberGenerator()

    init(conninfo: String, loop: HubLoop, logger: Logger, drain: ListenDrain,
         onNotifications: @escaping (_ notes: [PostgresNotification], _ leftWaiting: Bool) -> Void,
         onStateChange: @escaping (_ connected: Bool, _ reconnect: Bool) -> Void) {
        self.conninfo = conninfo
        self.loop = loop
        self.logger = logger
        self.drainLimit = drain
        self.onNotifications = onNotifications
        self.onStateChange = onStateChange
    }

    /// The backend pid of the LISTEN connection (tests terminate it). Loop thread.
    var backendPID: Int32? { connection?.backendPID }

    /// Connects on a worker thread (connect and LISTEN block), then adopts on the loop.
    func start() {
        let conninfo = self.conninfo
        DispatchQueue.global().async { [weak self] in
            let result = Result { () -> PostgresConnection in
                let c = try PostgresConnection(conninfo: conninfo)
                try c.listen()
                // Credential changes (migration 006): the authenticator keeps them in memory.
                try c.listen(CredentialChange.channel)
                return c
            }
            let box = UncheckedBox(result)
            self?.loop?.post { [weak self] in self?.connected(box.value) }
        }
    }

    /// Loop thread.
    func stop() {
        stopped = true
        teardown()
    }

    private func connected(_ result: Result<PostgresConnection, Error>) {
        guard !stopped, let loop else {
            if case .success(let c) = result { c.close() }
            return
        }
        switch result {
        case .failure(let error):
            logger.warning("LISTEN connection failed: \(error)")
            scheduleReconnect()
        case .success(let c):
            let fd = dup(c.socketDescriptor)
            do {
                adopted = try loop.adoptReadable(fd: fd, onReadable: { [weak self] in self?.readable() },
                                                 onClosed: { [weak self] in self?.lost("socket closed") })
                connection = c
                backoff.reset()
                let reconnect = everConnected
                everConnected = true
                logger.info(reconnect ? "LISTEN connection re-established" : "LISTEN on channel \(PostgresConnection.notifyChannel)")
                onStateChange(true, reconnect)
                // Anything already buffered by libpq would not make the socket readable again.
                readable()
            } catch {
                close(fd)
                c.close()
                logger.warning("cannot adopt the LISTEN socket: \(error)")
                scheduleReconnect()
            }
        }
    }

    /// Loop thread: reads what the socket holds, within one turn's drain (`ListenDrain`),
    /// and hands it over as one batch: one wave, and one frame per client, per turn.
    private func readable() {
        guard let connection else { return }
        let turn = connection.readNotifications(within: drainLimit)
        // What was read before a failure was committed: it goes out before the outage is told.
        if !turn.notes.isEmpty || turn.leftWaiting { onNotifications(turn.notes, turn.leftWaiting) }
        if let failure = turn.failure { lost("\(failure)") }
    }

    private func lost(_ why: String) {
        guard connection != nil, !stopped else { return }
        logger.warning("LISTEN connection lost: \(why)")
        teardown()
        onStateChange(false, false)
        scheduleReconnect()
    }

    private func teardown() {
        adopted?.close()
        adopted = nil
        connection?.close()
        connection = nil
    }

    private func scheduleReconnect() {
        guard !stopped else { return }
        let delay = backoff.next(random: &rng)
        _ = loop?.schedule(after: delay) { [weak self] in
            guard let self, !self.stopped, self.connection == nil else { return }
            self.start()
        }
    }
}

/// Carries a non-Sendable value across the hand-off to the loop, which is its only user.
// @unchecked Sendable: carries a value to the loop, its only user after the hand-off.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
