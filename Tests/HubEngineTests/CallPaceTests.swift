import HubCore
import XCTest

/// The executor commits before each call only when calls are slow: a busy machine that
/// delays some calls must not pass for a slow provider (issue 15 item 7).
final class CallPaceTests: XCTestCase {
    func testSomeDelayedCallsDoNotMakeAFastProviderSlow() {
        var pace = CallPace(window: 8)
        XCTAssertEqual(pace.typical, .zero)
        for i in 0..<40 { pace.record(i % 5 == 0 ? .milliseconds(30) : .microseconds(20)) }
        XCTAssertEqual(pace.typical, .microseconds(20))
    }

    func testEverySlowCallMakesItSlowAndItRecoversWithinTheWindow() {
        var pace = CallPace(window: 4)
        for _ in 0..<10 { pace.record(.milliseconds(20)) }
        XCTAssertEqual(pace.typical, .milliseconds(20))
        pace.record(.milliseconds(1))
        XCTAssertEqual(pace.typical, .milliseconds(1), "one fast call proves the provider can be fast")
        for _ in 0..<4 { pace.record(.milliseconds(25)) }
        XCTAssertEqual(pace.typical, .milliseconds(25), "the fast call aged out of the window")
    }
}
