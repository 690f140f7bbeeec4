import Foundation
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// One readable turn of the hub's loop on a real LISTEN socket: it reads again while the
/// kernel holds more (libpq alone reads one 16 KiB buffer), stops at its drain, and over
/// several turns every notification arrives once, in commit order.
final class ListenDrainReadTests: XCTestCase {
    let channel = "drain_test"
    let count = 100
    let payloadBytes = 4000

    func testATurnReadsWhatWaitsWithinItsDrainAndLosesNothing() throws {
        let db = try TestDatabase.shared.migratedDatabase()
        let listener = try PostgresConnection(conninfo: db)
        defer { listener.close() }
        try listener.listen(channel)
        let writer = try PostgresConnection(conninfo: db)
        defer { writer.close() }
        // 100 × 4000 bytes, one transaction: delivered together at commit.
        try writer.query("SELECT pg_notify($1, lpad(g::text, 6, '0') || repeat('x', $2::int - 6)) FROM generate_series(1, $3::int) g",
                         [channel, payloadBytes, count])

        // A turn bounded at 16 KiB of payloads leaves the rest on the socket.
        let waiting = try waitForUnread(atLeast: 64 * 1024, on: listener)
        let small = listener.readNotifications(within: ListenDrain(maxBytes: 16 * 1024))
        XCTAssertNil(small.failure)
        let smallBytes = small.notes.reduce(0) { $0 + $1.payload.count }
        XCTAssertGreaterThanOrEqual(smallBytes, 16 * 1024, "a turn stops at its drain, not at libpq's first read")
        XCTAssertLessThan(smallBytes, waiting, "a bounded turn left the rest for the next turn")
        XCTAssertTrue(small.leftWaiting)

        // An unbounded turn takes what the socket held when it began (less one message in flight).
        let before = try waitForUnread(atLeast: 32 * 1024, on: listener)
        let large = listener.readNotifications(within: ListenDrain(maxBytes: 1 << 30))
        XCTAssertNil(large.failure)
        let largeBytes = large.notes.reduce(0) { $0 + $1.payload.count }
        // Socket bytes are payloads plus about 20 bytes of protocol each (under 2 %), and the
        // last message may still be arriving when the socket runs dry.
        let slack = before / 50 + 2 * (payloadBytes + 64)
        XCTAssertGreaterThanOrEqual(largeBytes + slack, before, "one turn read everything waiting")
        XCTAssertGreaterThan(largeBytes, 16 * 1024, "more than libpq's one buffer")
        XCTAssertFalse(large.leftWaiting, "an unbounded turn ends only when the socket is empty")

        var all = small.notes + large.notes
        let deadline = ContinuousClock.now + .seconds(30)
        while all.count < count, ContinuousClock.now < deadline {
            _ = try waitForUnread(atLeast: 1, on: listener)
            let turn = listener.readNotifications(within: ListenDrain(maxBytes: 16 * 1024))
            XCTAssertNil(turn.failure)
            all += turn.notes
        }
        XCTAssertEqual(all.map { Int($0.payloadString.prefix(6)) }, Array(1...count).map { Optional($0) })
        XCTAssertTrue(all.allSatisfy { $0.channel == channel && $0.payload.count == payloadBytes })
    }

    /// Waits (bounded) until the kernel holds `bytes` unread on the LISTEN socket; returns
    /// what it holds. PostgreSQL writes the notifications as fast as the socket takes them.
    private func waitForUnread(atLeast bytes: Int, on connection: PostgresConnection) throws -> Int {
        let deadline = ContinuousClock.now + .seconds(10)
        var last = 0
        while ContinuousClock.now < deadline {
            last = connection.unreadSocketBytes
            if last >= bytes { return last }
            var fds = pollfd(fd: connection.socketDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&fds, 1, 20)
        }
        throw DrainTestError.neverHeld(bytes: bytes, held: last)
    }

    enum DrainTestError: Error { case neverHeld(bytes: Int, held: Int) }
}
