import Foundation
import HubCore
@testable import HubServer
import HubTestSupport
import XCTest

/// The wave a drain builds per run, and how a frame is cut for a client part-way through it.
final class EventWaveTests: XCTestCase {
    func b(_ s: String) -> [UInt8] { Array(s.utf8) }
    func s(_ bytes: [UInt8]?) -> String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
    func item(_ seq: Int64, title: String = "t") -> String { "{\"type\":\"item\",\"seq\":\(seq),\"title\":\(JSONText.quote(title))}" }

    /// A wave of items lo...hi, appended in the given chunks, plus extras.
    func wave(_ chunks: [ClosedRange<Int64>], extras: [String] = []) -> EventWave {
        var w = EventWave()
        for r in chunks { w.append(items: b(r.map { item($0) }.joined(separator: ","))[...], lo: r.lowerBound, hi: r.upperBound) }
        w.extras = extras.map(b)
        return w
    }

    func testEmptyWave() {
        let w = EventWave()
        XCTAssertTrue(w.isEmpty)
        XCTAssertFalse(w.hasItems)
        XCTAssertEqual(s(w.frame()), "[]")
        XCTAssertEqual(s(w.frame(after: 0)), "[]", "no items: the full (empty) frame")
    }

    func testAppendedChunksFormOneArrayFollowedByExtras() {
        let w = wave([1...2, 3...3, 4...5], extras: ["{\"type\":\"run\"}", "{\"type\":\"budget_warning\"}"])
        XCTAssertEqual(w.lo, 1)
        XCTAssertEqual(w.hi, 5)
        XCTAssertFalse(w.isEmpty)
        XCTAssertEqual(s(w.frame()), "[" + (1...5).map { item($0) }.joined(separator: ",") + ",{\"type\":\"run\"},{\"type\":\"budget_warning\"}]")
        let parsed = try? JSONSerialization.jsonObject(with: Data(w.frame())) as? [[String: Any]]
        XCTAssertEqual(parsed?.count, 7)
    }

    func testExtrasOnly() {
        var w = EventWave()
        w.extras = [b("{\"type\":\"run\",\"seq\":9}")]
        XCTAssertFalse(w.hasItems)
        XCTAssertFalse(w.isEmpty)
        XCTAssertEqual(s(w.frame()), "[{\"type\":\"run\",\"seq\":9}]")
        XCTAssertEqual(s(w.frame(after: 100)), "[{\"type\":\"run\",\"seq\":9}]")
    }

    func testFrameAfterACursorInsideTheWaveSendsOnlyTheRest() {
        let w = wave([10...14], extras: ["{\"type\":\"run\"}"])
        XCTAssertEqual(s(w.frame(after: 9)), s(w.frame()), "right before the wave: everything")
        XCTAssertEqual(s(w.frame(after: 3)), s(w.frame()), "behind the wave: everything (the caller replays the gap)")
        XCTAssertEqual(s(w.frame(after: 10)), "[" + (11...14).map { item($0) }.joined(separator: ",") + ",{\"type\":\"run\"}]")
        XCTAssertEqual(s(w.frame(after: 13)), "[" + item(14) + ",{\"type\":\"run\"}]")
        XCTAssertEqual(s(w.frame(after: 14)), "[{\"type\":\"run\"}]", "has every item: only the extras")
        XCTAssertEqual(s(w.frame(after: 99)), "[{\"type\":\"run\"}]")
    }

    func testFrameAfterWithoutExtrasIsNilOnceTheClientHasEverything() {
        let w = wave([1...3])
        XCTAssertNil(w.frame(after: 3))
        XCTAssertNil(w.frame(after: 50))
        XCTAssertEqual(s(w.frame(after: 2)), "[" + item(3) + "]")
    }

    /// Titles are user data: braces, quotes and backslashes inside strings must not move the cut.
    func testFrameAfterCutsCorrectlyAroundHostileStrings() {
        var w = EventWave()
        let titles = ["}{", "\"},{\"", "\\", "\\\"}", "{{{", "plain"]
        let objects = titles.enumerated().map { item(Int64($0.offset + 1), title: $0.element) }
        w.append(items: b(objects.joined(separator: ","))[...], lo: 1, hi: Int64(titles.count))
        for cursor in 0..<titles.count {
            let expected = "[" + objects[cursor...].joined(separator: ",") + "]"
            XCTAssertEqual(s(w.frame(after: Int64(cursor))), expected, "after \(cursor)")
        }
    }

    /// A wave whose bytes hold fewer objects than lo...hi claims (a truncated payload) must
    /// not cut into the middle of an object or crash.
    func testFrameAfterWithFewerObjectsThanClaimed() {
        var w = EventWave()
        w.append(items: b(item(1) + "," + item(2))[...], lo: 1, hi: 5)
        XCTAssertEqual(s(w.frame(after: 1)), "[" + item(2) + "]")
        XCTAssertNil(w.frame(after: 3))
        w.extras = [b("{\"x\":1}")]
        XCTAssertEqual(s(w.frame(after: 3)), "[{\"x\":1}]")
    }

    func testSplitObjects() {
        func split(_ text: String) -> [String] {
            let bytes = b(text)
            return EventWave.splitObjects(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        XCTAssertEqual(split(""), [])
        XCTAssertEqual(split("{}"), ["{}"])
        XCTAssertEqual(split("{\"a\":1},{\"b\":2}"), ["{\"a\":1}", "{\"b\":2}"])
        XCTAssertEqual(split("{\"a\":{\"b\":{}}},{\"c\":[{}]}"), ["{\"a\":{\"b\":{}}}", "{\"c\":[{}]}"])
        XCTAssertEqual(split("{\"s\":\"}\"},{\"s\":\"{\"}"), ["{\"s\":\"}\"}", "{\"s\":\"{\"}"])
        XCTAssertEqual(split("{\"s\":\"\\\"}\"},{}"), ["{\"s\":\"\\\"}\"}", "{}"])
        XCTAssertEqual(split("{\"s\":\"\\\\\"},{}"), ["{\"s\":\"\\\\\"}", "{}"], "an escaped backslash ends before the quote")
        XCTAssertEqual(split("{\"k\":\"\\u007d\"},{}"), ["{\"k\":\"\\u007d\"}", "{}"])
    }

    /// Random titles from a seeded generator: every cut lands on an object boundary.
    func testSplitObjectsOnRandomTitles() {
        var rng = SeededRandom(defaultSeed: 20_261_130)
        let seed = rng.seed
        let alphabet = Array("{}[]\"\\,:ab \u{e9}\u{1F600}")
        for round in 0..<200 {
            let count = Int.random(in: 1...8, using: &rng)
            let objects = (0..<count).map { i -> String in
                let title = String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
                return item(Int64(i + 1), title: title)
            }
            let bytes = b(objects.joined(separator: ","))
            let got = EventWave.splitObjects(bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
            XCTAssertEqual(got, objects, "seed \(seed), round \(round)")
            if got != objects { return }
        }
    }
}
