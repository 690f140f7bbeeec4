import HubCore
import HubTestSupport
import XCTest

final class BudgetGuardTests: XCTestCase {
    func testSoftWarningReturnedOnce() {
        var g = BudgetGuard(capCents: 100, softPercent: 80)
        XCTAssertEqual(g.authorize(callCents: 79), .allowed)
        XCTAssertEqual(g.authorize(callCents: 1), .allowedCrossingSoftLimit, "80 of 100 is exactly the threshold")
        XCTAssertEqual(g.authorize(callCents: 10), .allowed)
        XCTAssertEqual(g.authorize(callCents: 11), .wouldExceedCap)
        XCTAssertEqual(g.spentCents, 90, "a refused call is not counted")
        XCTAssertEqual(g.authorize(callCents: 10), .allowed, "exactly reaching the cap is allowed")
        XCTAssertEqual(g.spentCents, 100)
        XCTAssertEqual(g.authorize(callCents: 1), .wouldExceedCap)
        XCTAssertEqual(g.authorize(callCents: 0), .allowed)
    }

    func testResumedGuardDoesNotWarnTwice() {
        var g = BudgetGuard(capCents: 100, softPercent: 50, spentCents: 60, warned: true)
        XCTAssertEqual(g.authorize(callCents: 5), .allowed)
        var fresh = BudgetGuard(capCents: 100, softPercent: 50, spentCents: 60, warned: false)
        XCTAssertEqual(fresh.authorize(callCents: 5), .allowedCrossingSoftLimit)
    }

    func testRecordKeepsSpentWithinCap() {
        var g = BudgetGuard(capCents: 100, softPercent: 80)
        g.record(spentCents: 40)
        XCTAssertEqual(g.spentCents, 40)
        g.record(spentCents: 250)
        XCTAssertEqual(g.spentCents, 100)
        XCTAssertEqual(g.authorize(callCents: 1), .wouldExceedCap)
        g.record(spentCents: -3)
        XCTAssertEqual(g.spentCents, 0)
        XCTAssertEqual(BudgetGuard(capCents: 10, softPercent: 80, spentCents: 11).spentCents, 10)
    }

    func testHugeCallDoesNotOverflow() {
        var g = BudgetGuard(capCents: 100, softPercent: 80, spentCents: 50)
        XCTAssertEqual(g.authorize(callCents: Int.max), .wouldExceedCap)
        XCTAssertEqual(g.spentCents, 50)
    }

    /// Random caps, unit costs and provider failure rates over a few hundred runs: spent never
    /// passes the cap, always equals the sum of the allowed calls that were charged, the
    /// warning comes exactly once when the threshold is reached, and a refusal happens only
    /// when the call really would have crossed the cap.
    func testPropertySpentNeverExceedsCap() {
        var rng = SeededRandom(seed: 0xB0D6E7)
        for run in 0..<400 {
            let cap = Int.random(in: 1...5000, using: &rng)
            let soft = Int.random(in: 1...100, using: &rng)
            let amazon = Int.random(in: 0...40, using: &rng)
            let ebay = Int.random(in: 0...15, using: &rng)
            let failureRate = Double.random(in: 0...0.5, using: &rng)
            var g = BudgetGuard(capCents: cap, softPercent: soft)
            var charged = 0
            var warnings = 0
            var reachedThreshold = false
            for step in 0..<Int.random(in: 1...600, using: &rng) {
                let cost = Bool.random(using: &rng) ? amazon : ebay
                let before = g.spentCents
                switch g.authorize(callCents: cost) {
                case .allowed:
                    break
                case .allowedCrossingSoftLimit:
                    warnings += 1
                case .wouldExceedCap:
                    XCTAssertGreaterThan(before + cost, cap, "run \(run) step \(step): refused a call that fit")
                    XCTAssertEqual(g.spentCents, before)
                    continue
                }
                XCTAssertEqual(g.spentCents, before + cost)
                if Double.random(in: 0..<1, using: &rng) < failureRate {
                    g.refund(callCents: cost) // the provider failed; nothing was charged
                } else {
                    charged += cost
                }
                if g.spentCents * 100 >= soft * cap { reachedThreshold = true }
                XCTAssertLessThanOrEqual(g.spentCents, cap, "run \(run) step \(step)")
                XCTAssertEqual(g.spentCents, charged, "run \(run) step \(step)")
                if step % 97 == 96 {
                    // A restart: a new guard from the committed figures must carry on the same.
                    let restored = BudgetGuard(capCents: cap, softPercent: soft, spentCents: charged, warned: g.warned)
                    XCTAssertEqual(restored, g)
                    g = restored
                }
            }
            XCTAssertLessThanOrEqual(warnings, 1, "run \(run)")
            XCTAssertEqual(g.warned, warnings == 1, "run \(run)")
            if reachedThreshold { XCTAssertEqual(warnings, 1, "run \(run): reached the threshold without a warning") }
        }
    }
}
