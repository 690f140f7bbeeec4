import HubCore
import HubTestSupport
import XCTest

/// Untrusted bytes never trap the parsers: random bytes, mutated valid messages, and shapes
/// chosen to hurt (deep nesting, huge numbers, long strings).
final class ParserFuzzTests: XCTestCase {
    static let seeds: [String] = [
        #"{"type":"subscribe","topic":"org"}"#,
        #"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":35}"#,
        #"{"type":"unsubscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf"}"#,
        #"{"type":"ping","id":"x\u2028\"y"}"#,
        #"{"k":"items","org":"84dda1ca-f706-40cc-9495-8c5d210a48ed","run":"a1a308b9-0423-47cd-bb98-e1d2e675b2bf","lo":1,"hi":2,"ev":[{"a":1},{"b":2}]}"#,
        #"{"k":"run","org":"84dda1ca-f706-40cc-9495-8c5d210a48ed","run":"a1a308b9-0423-47cd-bb98-e1d2e675b2bf","seq":4,"status_changed":true,"ev":{"x":1}}"#,
    ]
    static let alphabet = Array(#"{}[]":,0123456789-+.eE truefalsnul\/u"#.utf8) + [0x00, 0x80, 0xC3, 0xA9, 0xE2, 0xFF]

    func check(_ bytes: [UInt8]) {
        do {
            switch try ClientMessage.parse(bytes) {
            case .subscribe(let topic, let since):
                XCTAssertEqual(Topic(topic.description), topic)
                if let since {
                    XCTAssertGreaterThanOrEqual(since, 0)
                    XCTAssertNotEqual(topic, .org)
                }
            case .unsubscribe(let topic):
                XCTAssertEqual(Topic(topic.description), topic)
            case .ping(let id):
                XCTAssertLessThanOrEqual(id?.json.count ?? 0, 6 * ClientMessage.maxPingIDLength + 2)
                if let id { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(id.json.utf8), options: [.fragmentsAllowed])) }
            }
        } catch {
            XCTAssertTrue(["bad_json", "not_object", "unknown_type", "bad_topic", "bad_since", "too_large", "bad_utf8"]
                .contains(error.code.rawValue), "\(error)")
        }
        if let payload = NotificationPayload.parse(bytes), let range = payload.events {
            XCTAssertTrue(range.lowerBound >= 0 && range.upperBound <= bytes.count)
        }
    }

    func testRandomBytes() {
        var rng = SeededRandom(seed: 20_260_120)
        for i in 0..<10_000 {
            let length = i % 100 == 0 ? Int.random(in: 0...4096, using: &rng) : Int.random(in: 0...80, using: &rng)
            let structured = Bool.random(using: &rng)
            let bytes = (0..<length).map { _ in
                structured ? Self.alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
            }
            check(bytes)
        }
    }

    func testMutatedValidMessages() {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<10_000 {
            var bytes = Array(Self.seeds.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let at = Int.random(in: 0..<max(bytes.count, 1), using: &rng)
                let byte = Bool.random(using: &rng) ? Self.alphabet.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0 where !bytes.isEmpty: bytes[at] = byte
                case 1: bytes.insert(byte, at: min(at, bytes.count))
                case 2 where !bytes.isEmpty: bytes.remove(at: at)
                default: bytes = Array(bytes.prefix(at))
                }
            }
            check(bytes)
        }
    }

    func testHostileShapes() {
        let limit = ClientMessage.maxBytes
        check([UInt8](repeating: UInt8(ascii: "["), count: limit))
        check(Array((String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000)).utf8))
        check(Array((String(repeating: #"{"a":"#, count: 12_000) + "1" + String(repeating: "}", count: 12_000)).utf8))
        check(Array(#"{"type":"subscribe","topic":"org","since":1\#(String(repeating: "0", count: 5000))}"#.utf8))
        check(Array(#"{"type":"ping","id":"\#(String(repeating: "\\ud800", count: 1000))"}"#.utf8))
        check(Array(#"{"type":"ping","id":-0.0e-99999}"#.utf8))
        check(Array(#"{"type":"ping","id":123456789012345678901234567890}"#.utf8))
        check(Array(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":-9223372036854775809}"#.utf8))
    }
}
