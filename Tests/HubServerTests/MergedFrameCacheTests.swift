@testable import HubServer
import XCTest

/// Clients with the same queued frames share one merged copy; any other frame in the run
/// (a client's own replay page between two shared waves) gets its own.
final class MergedFrameCacheTests: XCTestCase {
    func text(_ frame: SharedFrame) -> String { String(decoding: frame.bytes, as: UTF8.self) }

    func testSameFramesShareOneMergedCopyAndADifferentMiddleDoesNot() {
        let cache = MergedFrameCache(slots: 2)
        let a = SharedFrame(text: "[1,2]", mergeableJSONArray: true)
        let empty = SharedFrame(text: "[]", mergeableJSONArray: true)
        let c = SharedFrame(text: "[{\"c\":3}]", mergeableJSONArray: true)
        let own = SharedFrame(text: "[9]", mergeableJSONArray: true)

        let first = cache.merged([a, empty, c][...])
        XCTAssertEqual(text(first), "[1,2,{\"c\":3}]")
        XCTAssertTrue(cache.merged([a, empty, c][...]) === first, "the next client with the same frames shares the copy")

        let other = cache.merged([a, own, c][...])
        XCTAssertEqual(text(other), "[1,2,9,{\"c\":3}]", "same ends, another middle: built for it")
        XCTAssertEqual(text(cache.merged([a, c][...])), "[1,2,{\"c\":3}]")
        XCTAssertEqual(text(cache.merged([empty, empty][...])), "[]")
    }
}
