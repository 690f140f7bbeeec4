import CLibPQ
import Foundation
import HubCore

/// A NOTIFY as received: channel, payload bytes and the sending backend.
public struct PostgresNotification: Sendable {
    public let channel: String
    /// The payload's UTF-8 bytes, untouched, so a hub can forward slices of it.
    public let payload: [UInt8]
    public let senderPID: Int32
    /// When this process took it off the socket (for lag metrics).
    public let receivedAt: ContinuousClock.Instant

    public var payloadString: String { String(decoding: payload, as: UTF8.self) }
}

/// What one readable turn took off the LISTEN socket.
public struct ListenTurn: Sendable {
    public var notes: [PostgresNotification] = []
    /// The connection failed after `notes` were read.
    public var failure: PostgresError?
    /// The turn stopped at its drain's bound with more on the socket: the loop's intake,
    /// not PostgreSQL, set the pace of this turn.
    public var leftWaiting = false
}

extension PostgresConnection {
    /// The channel every trigger notifies on (migration 004).
    public static let notifyChannel = "collection_hub"

    /// LISTEN on `channel`. LISTEN takes an identifier, not a parameter: the name is
    /// restricted to [a-z0-9_] so quoting cannot be escaped.
    public func listen(_ channel: String = PostgresConnection.notifyChannel) throws {
        precondition(channel.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "bad channel name")
        try query("LISTEN \"\(channel)\"")
    }

    /// The socket libpq reads from, for an event loop to watch. It changes on reconnect.
    public var socketDescriptor: Int32 { PQsocket(conn) }

    /// Reads whatever the socket has (non-blocking when the loop says it is readable).
    /// Throws connectionLost when the server has gone away.
    public func consumeInput() throws {
        if PQconsumeInput(conn) == 0 {
            isBrokenSet()
            throw PostgresError(code: .connectionLost, message: errorMessage())
        }
        // Results of a statement sent asynchronously are not expected on a LISTEN-only
        // connection, but must be drained or libpq keeps them buffered.
        while PQisBusy(conn) == 0, let result = PQgetResult(conn) { PQclear(result) }
    }

    /// One readable turn of an event loop: reads the socket and takes the notifications,
    /// again while the kernel holds more, within `drain`. What was read before a failure
    /// comes back with it (it was committed and must still go out).
    public func readNotifications(within drain: ListenDrain) -> ListenTurn {
        var drain = drain
        var turn = ListenTurn()
        while true {
            do {
                try consumeInput()
            } catch {
                turn.failure = error as? PostgresError ?? PostgresError(code: .connectionLost, message: "\(error)")
                return turn
            }
            // Taken after each read: it frees libpq's buffer for the next one.
            let taken = drainNotifications()
            drain.took(payloadBytes: taken.reduce(0) { $0 + $1.payload.count })
            turn.notes += taken
            let unread = unreadSocketBytes
            guard drain.readsAgain(unreadBytes: unread) else {
                turn.leftWaiting = unread > 0
                return turn
            }
        }
    }

    /// Bytes the kernel holds on the socket that libpq has not read yet (0 when unknown).
    public var unreadSocketBytes: Int {
        var count: Int32 = 0
        guard ioctl(PQsocket(conn), UInt(FIONREAD), &count) == 0 else { return 0 }
        return Int(count)
    }

    /// Takes every notification libpq has parsed so far.
    public func drainNotifications() -> [PostgresNotification] {
        var out: [PostgresNotification] = []
        let now = ContinuousClock.now
        while let n = PQnotifies(conn) {
            let channel = String(cString: n.pointee.relname)
            let length = strlen(n.pointee.extra)
            let payload = n.pointee.extra.withMemoryRebound(to: UInt8.self, capacity: length) {
                Array(UnsafeBufferPointer(start: $0, count: length))
            }
            out.append(PostgresNotification(channel: channel, payload: payload, senderPID: n.pointee.be_pid, receivedAt: now))
            PQfreemem(n)
        }
        return out
    }

    /// Blocks until at least one notification arrives or `timeout` passes (poll on the
    /// socket). For tools and tests; the hub's loop watches the socket instead.
    public func waitForNotifications(timeout: Duration) throws -> [PostgresNotification] {
        let deadline = ContinuousClock.now + timeout
        while true {
            try consumeInput()
            let ready = drainNotifications()
            if !ready.isEmpty { return ready }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return [] }
            var fds = pollfd(fd: socketDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&fds, 1, Int32(max(1, remaining.seconds * 1000)))
        }
    }

    private func isBrokenSet() { markBrokenIfNeeded() }
}
