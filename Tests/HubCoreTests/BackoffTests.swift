import HubCore
import HubTestSupport
import XCTest

final class BackoffTests: XCTestCase {
    func testDefaults() {
        let b = Backoff()
        XCTAssertEqual(b.initial, .seconds(1))
        XCTAssertEqual(b.maximum, .seconds(60))
        XCTAssertEqual(b.multiplier, 2)
        XCTAssertEqual(b.jitter, 0.2)
    }

    func testDoublesUpToTheCapAndResets() {
        var rng = SeededRandom(seed: 7)
        var b = Backoff(jitter: 0)
        let delays = (0..<9).map { _ in b.next(random: &rng) }
        XCTAssertEqual(delays, [1, 2, 4, 8, 16, 32, 60, 60, 60].map { Duration.seconds($0) })
        b.reset()
        XCTAssertEqual(b.next(random: &rng), .seconds(1))
        XCTAssertEqual(b.next(random: &rng), .seconds(2))
    }

    func testJitterStaysWithinBounds() {
        var rng = SeededRandom(seed: 99)
        var b = Backoff(initial: .seconds(10), maximum: .seconds(60), multiplier: 2, jitter: 0.2)
        var low = Duration.seconds(1000)
        var high = Duration.zero
        for _ in 0..<500 {
            b.reset()
            let first = b.next(random: &rng)
            XCTAssertGreaterThanOrEqual(first, .seconds(8))
            XCTAssertLessThanOrEqual(first, .seconds(12))
            low = min(low, first)
            high = max(high, first)
            let second = b.next(random: &rng)
            XCTAssertGreaterThanOrEqual(second, .seconds(16))
            XCTAssertLessThanOrEqual(second, .seconds(24))
            _ = b.next(random: &rng)
            let capped = b.next(random: &rng) // base 60 (80 capped)
            XCTAssertGreaterThanOrEqual(capped, .seconds(48))
            XCTAssertLessThanOrEqual(capped, .seconds(60), "jitter never passes the maximum")
        }
        XCTAssertLessThan(low, .seconds(9), "jitter really spreads downwards")
        XCTAssertGreaterThan(high, .seconds(11), "and upwards")
    }

    func testRetryAfterWinsButIsCapped() {
        var rng = SeededRandom(seed: 3)
        var b = Backoff(jitter: 0.2)
        XCTAssertEqual(b.next(retryAfter: .seconds(5), random: &rng), .seconds(5), "no jitter on what the provider asked")
        XCTAssertEqual(b.next(retryAfter: .seconds(3600), random: &rng), .seconds(60))
        XCTAssertEqual(b.next(retryAfter: .seconds(-4), random: &rng), .zero)
        var plain = Backoff(jitter: 0)
        XCTAssertEqual(plain.next(random: &rng), .seconds(1))
        XCTAssertEqual(plain.next(retryAfter: .milliseconds(1500), random: &rng), .milliseconds(1500))
        XCTAssertEqual(plain.next(random: &rng), .seconds(4), "the backoff's own sequence keeps advancing")
    }
}
