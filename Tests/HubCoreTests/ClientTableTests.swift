import Foundation
import HubCore
import HubTestSupport
import XCTest

/// Clients found by slot: the table must answer exactly as a dictionary would, and a slot
/// handed to a new session must never let it see what was meant for the one before.
final class ClientTableTests: XCTestCase {
    func testAnswersAsADictionaryWouldUnderRandomUse() {
        var random = SeededRandom(defaultSeed: 42)
        var table = ClientTable<Int>()
        var model: [FeedClientID: Int] = [:]
        // Few slots, several generations each, and ids beyond the dense slots.
        let ids: [FeedClientID] = (0..<8).flatMap { slot in (1...3).map { UInt64($0) << 32 | UInt64(slot) } }
            + [.max, 1 << 40 | 0xFFFF_FFFF, UInt64(ClientTable<Int>.denseSlots)]
        for step in 0..<20_000 {
            let id = ids[Int(random.next() % UInt64(ids.count))]
            switch random.next() % 6 {
            case 0:
                table[id] = step
                // A slot holds one id: writing another generation of it replaces that entry.
                for other in model.keys where other != id && other & 0xFFFF_FFFF == id & 0xFFFF_FFFF
                    && Int(id & 0xFFFF_FFFF) < ClientTable<Int>.denseSlots {
                    model[other] = nil
                }
                model[id] = step
            case 1:
                XCTAssertEqual(table.removeValue(forKey: id), model.removeValue(forKey: id))
            case 2:
                table[id]? += 1
                model[id]? += 1
            case 3:
                let had = table[id] != nil
                table[id, default: 0] += 2
                if !had {
                    for other in model.keys where other != id && other & 0xFFFF_FFFF == id & 0xFFFF_FFFF
                        && Int(id & 0xFFFF_FFFF) < ClientTable<Int>.denseSlots {
                        model[other] = nil
                    }
                }
                model[id, default: 0] += 2
            case 4:
                table[id] = nil
                model[id] = nil
            default:
                XCTAssertEqual(table[id], model[id], "step \(step), id \(id) \(random.seedNote)")
            }
            XCTAssertEqual(table.count, model.count, "step \(step)")
        }
        for id in ids { XCTAssertEqual(table[id], model[id]) }
    }

    func testAnOlderIdOfASlotFindsNothingOfTheNewer() {
        var table = ClientTable<String>()
        let old: FeedClientID = 1 << 32 | 5, new: FeedClientID = 2 << 32 | 5
        table[new] = "new"
        XCTAssertNil(table[old])
        table[old]? += "!"
        table[old] = nil
        XCTAssertEqual(table[new], "new", "writes through an older id leave the newer one alone")
        XCTAssertEqual(table.count, 1)
    }

    func testSlotsAreReusedUnderANewGeneration() {
        var slots = ClientSlots()
        let a = slots.take(), b = slots.take()
        XCTAssertNotEqual(a, b)
        XCTAssertFalse([a, b].contains(0))
        slots.giveBack(a)
        slots.giveBack(a)  // twice: ignored
        slots.giveBack(99)  // never handed out: ignored
        XCTAssertEqual(slots.inUse, 1)
        let c = slots.take()
        XCTAssertEqual(c & 0xFFFF_FFFF, a & 0xFFFF_FFFF, "the freed slot is used again")
        XCTAssertNotEqual(c, a, "under another generation")
        let d = slots.take()
        XCTAssertFalse([a, b, c].contains(d))
        XCTAssertEqual(slots.inUse, 3)
    }

    /// The first session on a slot asked for its run's first read, then left; the next
    /// session on that slot follows another org's run. The late answer goes nowhere.
    func testAReadForAClosedSessionNeverReachesTheNextOnItsSlot() {
        var slots = ClientSlots()
        let empty: QueueDepth = { _ in 0 }
        var core = FanOutCore(limits: FeedLimits(maxQueuedBytesPerClient: 1 << 20))
        _ = core.listenChanged(connected: true, depth: empty)
        let orgA = UUID(), orgB = UUID(), runA = UUID(), runB = UUID()
        let first = slots.take()
        let asked = core.subscribe(first, run: runA, org: orgA, since: nil, depth: empty)
        guard case .read(let readA)? = asked.first(where: { if case .read = $0 { true } else { false } }) else {
            return XCTFail("no first read: \(asked)")
        }
        core.clientClosed(first)
        slots.giveBack(first)
        let second = slots.take()
        XCTAssertEqual(second & 0xFFFF_FFFF, first & 0xFFFF_FFFF)
        _ = core.subscribe(second, run: runB, org: orgB, since: nil, depth: empty)

        let secret = RunEventSnapshot(runEvent: Array("{\"type\":\"run\",\"name\":\"org A's run\"}".utf8), runSeq: 1, items: .empty)
        let late = core.readDone(readA, .snapshot(secret), depth: empty)
        for action in late {
            if case .send(let to, let frame, _) = action {
                XCTFail("sent \(String(decoding: frame.bytes, as: UTF8.self)) to \(to)")
            }
        }
        XCTAssertEqual(core.subscriptionCount(second), 1)
        XCTAssertEqual(core.subscriptionCount(first), 0)
    }
}
