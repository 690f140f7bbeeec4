import HubCore
import HubTestSupport
import XCTest

final class StreamCursorTests: XCTestCase {
    func testSinceOutsideTheSequenceRangeIsRefused() {
        for since in [Int64.min, -1, SequenceNumber.max + 1, .max - 1, .max] { XCTAssertNil(StreamCursor(since: since), "\(since)") }
        XCTAssertEqual(StreamCursor(since: 0)?.last, 0)
        XCTAssertEqual(StreamCursor(since: SequenceNumber.max)?.last, SequenceNumber.max)
    }

    func testPlacementOfWaves() throws {
        let c = try XCTUnwrap(StreamCursor(since: 10))
        XCTAssertEqual(c.placement(lo: 11, hi: 15), .next)
        XCTAssertEqual(c.placement(lo: 12, hi: 15), .gap)
        XCTAssertEqual(c.placement(lo: 5, hi: 10), .alreadySent)
        XCTAssertEqual(c.placement(lo: 8, hi: 12), .overlapping(skip: 3))
        XCTAssertEqual(c.newItems(lo: 8, hi: 12), 2)
        XCTAssertEqual(c.placement(lo: 15, hi: 11), .invalid)
    }

    func testCursorAtTheTopOfTheRangeNeverTraps() throws {
        var c = try XCTUnwrap(StreamCursor(since: SequenceNumber.max))
        XCTAssertEqual(c.placement(lo: SequenceNumber.max, hi: SequenceNumber.max), .alreadySent)
        XCTAssertEqual(c.placement(lo: .max, hi: .max), .invalid)
        XCTAssertEqual(c.placement(lo: .min, hi: .max), .invalid)
        XCTAssertEqual(c.newItems(lo: .min, hi: .max), 0)
        c.advance(to: .max)
        XCTAssertEqual(c.last, SequenceNumber.max)
        c.advance(to: .min)
        XCTAssertEqual(c.last, SequenceNumber.max, "never moves backwards")
        XCTAssertFalse(c.isWithin(runSeq: 5))
    }

    func testSeededRandomExtremesKeepTheInvariants() throws {
        var rng = SeededRandom(seed: 12)
        let edges: [Int64] = [.min, .max, -1, 0, 1, SequenceNumber.max, SequenceNumber.max + 1]
        for _ in 0..<20_000 {
            func pick() -> Int64 { rng.next() % 3 == 0 ? edges[Int(rng.next() % UInt64(edges.count))] : Int64(bitPattern: rng.next()) }
            guard var c = StreamCursor(since: Int64(rng.next() % 1000)) else { return XCTFail("small since refused") }
            let lo = pick(), hi = pick(), before = c.last
            XCTAssertGreaterThanOrEqual(c.newItems(lo: lo, hi: hi), 0)
            c.advance(to: hi)
            XCTAssertGreaterThanOrEqual(c.last, before)
            XCTAssertTrue(SequenceNumber.range.contains(c.last))
        }
    }

    func testSinceIsBoundedByTheParserWithTheTopicInTheError() {
        let topic = "run:6f1c1a52-3c1e-4a43-9f0b-0d6c2a7c9e11"
        for since in ["9223372036854775807", "9007199254740992", "-1", "1e300", "99999999999999999999"] {
            XCTAssertThrowsError(try ClientMessage.parse(Array("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":\(since)}".utf8))) { error in
                XCTAssertEqual((error as? ProtocolError)?.code, .badSince, since)
                XCTAssertEqual((error as? ProtocolError)?.topic, topic, since)
            }
        }
        XCTAssertEqual(try ClientMessage.parse(Array("{\"type\":\"subscribe\",\"topic\":\"\(topic)\",\"since\":9007199254740991}".utf8)),
                       .subscribe(Topic(topic)!, since: SequenceNumber.max))
    }

    func testNotificationNumbersThatOverflowOrExceedTheRangeAreNotOurs() {
        let overflow = #"{"k":"items","org":"o","run":"r","lo":9999999999999999999,"hi":9999999999999999999,"ev":[{}]}"#
        XCTAssertNil(NotificationPayload.parse(Array(overflow.utf8)))
        let huge = #"{"k":"items","org":"o","run":"r","lo":0,"hi":9223372036854775807,"ev":[{}]}"#
        XCTAssertNil(NotificationPayload.parse(Array(huge.utf8)))
        let ok = #"{"k":"items","org":"o","run":"r","lo":1,"hi":2,"ev":[{}]}"#
        XCTAssertEqual(NotificationPayload.parse(Array(ok.utf8))?.hi, 2)
    }
}
