import HubCore
import XCTest

final class ListenDrainTests: XCTestCase {
    func testReadsAgainOnlyWhileBytesWaitAndTheTurnIsUnderItsBounds() {
        var drain = ListenDrain(maxBytes: 100, maxReads: 3)
        XCTAssertFalse(drain.readsAgain(unreadBytes: 0), "nothing waiting: the turn ends")
        drain.took(payloadBytes: 40)
        XCTAssertTrue(drain.readsAgain(unreadBytes: 1))
        drain.took(payloadBytes: 60)
        XCTAssertFalse(drain.readsAgain(unreadBytes: 10_000), "the byte bound ends the turn")
        XCTAssertEqual(drain.bytes, 100)
    }

    func testReadsThatCarryNothingStillEndTheTurn() {
        var drain = ListenDrain(maxBytes: 1_000, maxReads: 2)
        drain.took(payloadBytes: 0)
        XCTAssertTrue(drain.readsAgain(unreadBytes: 5))
        drain.took(payloadBytes: 0)
        XCTAssertFalse(drain.readsAgain(unreadBytes: 5), "a message larger than one read cannot keep the loop")
        XCTAssertEqual(drain.reads, 2)
    }

    func testBoundsFromOutsideAreClamped() {
        var drain = ListenDrain(maxBytes: -5, maxReads: 0)
        XCTAssertEqual(drain.maxBytes, 1)
        XCTAssertEqual(drain.maxReads, 1)
        drain.took(payloadBytes: -10)
        XCTAssertEqual(drain.bytes, 0)
        XCTAssertFalse(drain.readsAgain(unreadBytes: 1))
    }

    func testAHubDrainsHalfAFramePerTurn() {
        XCTAssertEqual(ListenDrain.forFrames(of: 256 * 1024).maxBytes, 128 * 1024)
    }
}
