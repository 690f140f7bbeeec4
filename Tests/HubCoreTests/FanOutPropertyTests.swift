import Foundation
import HubCore
import HubTestSupport
import XCTest

/// Seeded random interleavings of everything that can happen around the fan-out: commits
/// (inline or too big to inline), duplicate, late and lost notifications, LISTEN outages,
/// table reads that answer late or fail, replay pages, slow clients closed 4008 and
/// reconnecting with `since`, unsubscribe and resubscribe, held state updates. Each client
/// gets each item exactly once, in order, and never holds more than its bound.
final class FanOutPropertyTests: XCTestCase {
    static let interleavings = 10_000

    func testEveryClientGetsEveryItemOnceInOrderWithinItsBound() throws {
        var random = SeededRandom(seed: 0x5EED_FEED)
        let note = random.seedNote
        let limits = FeedLimits(pageSize: 3, snapshotItems: 2, maxQueuedBytesPerClient: 900, coalesceThreshold: 250)
        var totals = (closedSlow: 0, replays: 0, backfills: 0, staleSnapshots: 0, failedReads: 0, resubscribes: 0, items: 0)
        for n in 0..<Self.interleavings {
            var world = FeedWorld(runs: 2, limits: limits, random: random)
            do {
                try play(&world, steps: 6 + Int(world.random.next() % 18))
                try world.settle()
            } catch {
                // Played again from the same state, with the trace on, for the message.
                var again = FeedWorld(runs: 2, limits: limits, random: random)
                again.trace = FeedWorld.Trace()
                do {
                    try play(&again, steps: 6 + Int(again.random.next() % 18))
                    try again.settle()
                } catch {}
                return XCTFail("interleaving \(n): \(error) \(note) (SWIFT_DETERMINISTIC_HASHING=1 replays it exactly)\n"
                               + (again.trace?.lines ?? []).suffix(150).joined(separator: "\n"))
            }
            random = world.random
            totals.closedSlow += world.stats.closedSlow
            totals.replays += world.stats.replays
            totals.backfills += world.stats.backfills
            totals.staleSnapshots += world.stats.staleSnapshots
            totals.failedReads += world.stats.failedReads
            totals.resubscribes += world.stats.resubscribes
            totals.items += Int(world.table.values.reduce(0, +))
        }
        // The interleavings reached the paths they are meant to test.
        XCTAssertGreaterThan(totals.closedSlow, 0, "no slow client was closed \(note)")
        XCTAssertGreaterThan(totals.replays, 0, "no replay page was read \(note)")
        XCTAssertGreaterThan(totals.backfills, 0, "no gap was backfilled \(note)")
        XCTAssertGreaterThan(totals.staleSnapshots, 0, "no snapshot lagged a notification \(note)")
        XCTAssertGreaterThan(totals.failedReads, 0, "no read failed \(note)")
        XCTAssertGreaterThan(totals.resubscribes, 0, "no client reconnected \(note)")
    }

    /// One interleaving: `steps` random events, checking the bound after each.
    func play(_ world: inout FeedWorld, steps: Int) throws {
        for _ in 0..<(1 + Int(world.random.next() % 3)) {
            let id = world.connect()
            for run in 0..<world.runs.count where world.random.chance(0.7) { try world.subscribe(id, run) }
        }
        if world.random.chance(0.8) { try world.listen(true) }
        for _ in 0..<steps {
            let roll = Int(world.random.next() % 100)
            let run = Int(world.random.next() % UInt64(world.runs.count))
            let ids = world.clients.keys.sorted()
            let id = ids[Int(world.random.next() % UInt64(ids.count))]
            switch roll {
            case 0..<18: world.commit(run, count: 1 + Int(world.random.next() % 4), inline: world.random.chance(0.85))
            case 18..<22: world.runChanged(run)
            case 22..<36: try world.drain(1 + Int(world.random.next() % 3))
            case 36..<38:  // a duplicate: another hub's replay, or a repeated drain
                if let dup = world.inbox.randomElement(using: &world.random) { world.inbox.append(dup) }
            case 38..<40:  // late: one notification overtaken by the next
                if world.inbox.count > 1 { world.inbox.swapAt(0, 1) }
            case 40..<42:  // lost: only ever with the LISTEN connection (PostgreSQL delivers to a live listener)
                try world.listen(false)
            case 42..<45: try world.listen(!world.listening)
            case 45..<56:
                if !world.pendingReads.isEmpty { world.runRead(Int(world.random.next() % UInt64(world.pendingReads.count)), mayFail: true) }
            case 56..<67:
                if !world.answeredReads.isEmpty { try world.answerRead(Int(world.random.next() % UInt64(world.answeredReads.count))) }
            case 67..<75: try world.advanceClock(by: [10, 50, 100, 500][Int(world.random.next() % 4)])
            case 75..<87:
                if !world.clients[id]!.closed { try world.read(id, frames: 1 + Int(world.random.next() % 3)) }
            case 87..<90:
                let key = world.keys[run]
                if world.clients[id]!.closed {
                    break
                } else if world.clients[id]!.following[key] != nil {
                    world.unsubscribe(id, run)
                } else if world.clients[id]!.socket.isEmpty {
                    try world.subscribe(id, run, useSince: world.random.chance(0.8))
                }
            case 90..<95:
                if world.clients[id]!.closed || world.random.chance(0.1) { _ = try world.reconnect(id) }
            default:
                if !world.clients[id]!.closed { try world.orgState(id) }
            }
            try world.checkBounds()
        }
    }
}
