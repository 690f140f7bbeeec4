import Foundation
import HubCore
import HubTestSupport
import XCTest

/// Seeded random interleavings of everything that can happen around the fan-out: commits
/// (inline or too big to inline), duplicate, late and lost notifications, LISTEN outages,
/// table reads that answer late or fail, replay pages, slow clients closed 4008 and
/// reconnecting with `since`, unsubscribe and resubscribe, held state updates, first reads
/// shared by subscribers. Each client gets each item exactly once, in order, never holds more
/// than its bound, and ends with its run's latest state.
final class FanOutPropertyTests: XCTestCase {
    static let interleavings = 10_000
    /// Interleavings run in lanes side by side; each lane is its own salted stream of the seed.
    static let lanes = 4
    static let limits = FeedLimits(pageSize: 3, snapshotItems: 2, maxQueuedBytesPerClient: 900, coalesceThreshold: 250)

    /// What the lanes found: the first failure, and how often each path was taken.
    // @unchecked Sendable: every field is read and written under `lock`.
    final class Findings: @unchecked Sendable {
        let lock = NSLock()
        var failure: String?
        var totals: [String: Int] = [:]

        func add(_ failure: String?, _ stats: [String: Int]) {
            lock.lock()
            defer { lock.unlock() }
            if self.failure == nil { self.failure = failure }
            totals.merge(stats, uniquingKeysWith: +)
        }
    }

    func testEveryClientGetsEveryItemOnceInOrderWithinItsBound() throws {
        let seed = SeededRandom(seed: 0x5EED_FEED)
        let findings = Findings()
        DispatchQueue.concurrentPerform(iterations: Self.lanes) { lane in
            let (failure, stats) = Self.runLane(lane, seed)
            findings.add(failure, stats)
        }
        if let failure = findings.failure { return XCTFail("\(failure) \(seed.seedNote)") }
        // The interleavings reached the paths they are meant to test.
        for path in ["closedSlow", "replays", "backfills", "staleSnapshots", "failedReads", "resubscribes", "sharedReads", "gapsFilled", "interleavings"] {
            XCTAssertGreaterThan(findings.totals[path] ?? 0, 0, "no interleaving took \(path) \(seed.seedNote)")
        }
        XCTAssertEqual(findings.totals["interleavings"], Self.interleavings)
    }

    /// One lane's share of the interleavings; on failure, the failing one is played again
    /// with its trace on, for the message.
    static func runLane(_ lane: Int, _ seed: SeededRandom) -> (String?, [String: Int]) {
        var random = LaneRandom(base: seed, salt: UInt64(lane + 1) &* 0x9E37_79B9_7F4A_7C15)
        var stats: [String: Int] = [:]
        for n in 0..<(interleavings / lanes) {
            var world = FeedWorld(runs: 2, limits: limits, random: random)
            do {
                try play(&world, steps: 6 + Int(world.random.next() % 18))
                try world.settle()
            } catch {
                var again = FeedWorld(runs: 2, limits: limits, random: random)
                again.trace = FeedWorld.Trace()
                do {
                    try play(&again, steps: 6 + Int(again.random.next() % 18))
                    try again.settle()
                } catch {}
                return ("lane \(lane), interleaving \(n): \(error)\n" + (again.trace?.lines ?? []).suffix(150).joined(separator: "\n"), stats)
            }
            random = world.random
            let s = world.stats
            stats.merge(["closedSlow": s.closedSlow, "replays": s.replays, "backfills": s.backfills, "staleSnapshots": s.staleSnapshots,
                         "failedReads": s.failedReads, "resubscribes": s.resubscribes,
                         "sharedReads": world.core.snapshotsShared, "gapsFilled": world.core.gapsFilled, "interleavings": 1], uniquingKeysWith: +)
        }
        return (nil, stats)
    }

    /// One interleaving: `steps` random events, checking the bound after each.
    static func play(_ world: inout FeedWorld, steps: Int) throws {
        for _ in 0..<(1 + Int(world.random.next() % 3)) {
            let id = world.connect()
            for run in 0..<world.runs.count where world.random.chance(0.7) { try world.subscribe(id, run) }
        }
        if world.random.chance(0.8) { try world.listen(true) }
        for _ in 0..<steps {
            let roll = Int(world.random.next() % 100)
            let run = Int(world.random.next() % UInt64(world.runs.count))
            let id = world.clientIDs[Int(world.random.next() % UInt64(world.clientIDs.count))]
            switch roll {
            case 0..<18: world.commit(run, count: 1 + Int(world.random.next() % 4), inline: world.random.chance(0.85))
            case 18..<22: world.runChanged(run)
            case 22..<36: try world.drain(1 + Int(world.random.next() % 3))
            case 36..<38:  // a duplicate item notification (a run row's old version never comes after a newer one)
                if !world.inbox.isEmpty {
                    let copy = world.inbox[Int(world.random.next() % UInt64(world.inbox.count))]
                    if !world.sameRunRow(copy, copy) { world.inbox.append(copy) }
                }
            case 38..<40:  // late: one notification overtaken by the next (never two versions of one run row: the row lock orders their commits)
                if world.inbox.count > 1, !world.sameRunRow(world.inbox[0], world.inbox[1]) { world.inbox.swapAt(0, 1) }
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
