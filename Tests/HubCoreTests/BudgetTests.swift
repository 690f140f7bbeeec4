import HubCore
import XCTest

final class BudgetTests: XCTestCase {
    func testEstimateFiguresAndSummary() {
        let e = CostEstimator.estimate(
            categories: [Category(id: "toys", name: "Toys", expectedProducts: 50, expectedSellersPerProduct: 4)],
            unitCosts: UnitCosts(amazonProductCallCents: 2, ebaySellerCallCents: 1))
        XCTAssertEqual(e.categories[0].summary, "50 Amazon calls ($1.00) + ~200 eBay calls ($2.00) = $3.00")
        XCTAssertEqual(e.totalCents, 300)
        XCTAssertEqual(e.expectedItems, 250)
    }

    func testVerdictAtThresholds() {
        let s = BudgetSettings(budgetCapCents: 1000, softWarningPercent: 80, maxConcurrentRuns: 3)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 799, settings: s), .withinBudget)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 800, settings: s), .softWarning(percentOfCap: 80))
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 1000, settings: s), .softWarning(percentOfCap: 100))
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 1001, settings: s), .overCap(percentOfCap: 100))
    }

    func testSettingsValidationNamesFields() {
        XCTAssertNoThrow(try BudgetSettings().validate())
        XCTAssertThrowsError(try BudgetSettings(budgetCapCents: -5, softWarningPercent: 0, maxConcurrentRuns: 1000).validate()) { error in
            XCTAssertEqual((error as? FieldErrors)?.errors.map(\.field), ["budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"])
        }
    }

    /// Random unit costs, caps and failure rates: spent never passes the cap and always
    /// equals the sum of what was charged.
    func testGuardPropertyNeverExceedsCap() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<500 {
            let cap = Int.random(in: 1...5000, using: &rng)
            var guardian = BudgetGuard(capCents: cap, softPercent: Int.random(in: 1...100, using: &rng))
            var charged = 0
            var warnings = 0
            var stopped = false
            for _ in 0..<Int.random(in: 1...400, using: &rng) {
                let cost = Int.random(in: 0...50, using: &rng)
                switch guardian.authorize(callCents: cost) {
                case .allowed: charged += cost
                case .allowedCrossingSoftLimit: charged += cost; warnings += 1
                case .wouldExceedCap: stopped = true
                }
                if !stopped, cost > 0, Double.random(in: 0..<1, using: &rng) < 0.1 {
                    // The provider refused the call and charged nothing: refund it.
                    guardian.refund(callCents: cost)
                    charged -= cost
                }
                if stopped { break }
                XCTAssertLessThanOrEqual(guardian.spentCents, cap)
            }
            XCTAssertEqual(guardian.spentCents, charged)
            XCTAssertLessThanOrEqual(warnings, 1)
        }
    }

    func testSoftWarningReturnedOnce() {
        var g = BudgetGuard(capCents: 100, softPercent: 80)
        XCTAssertEqual(g.authorize(callCents: 79), .allowed)
        XCTAssertEqual(g.authorize(callCents: 1), .allowedCrossingSoftLimit)
        XCTAssertEqual(g.authorize(callCents: 10), .allowed)
        XCTAssertEqual(g.authorize(callCents: 11), .wouldExceedCap)
        XCTAssertEqual(g.authorize(callCents: 10), .allowed)
        XCTAssertEqual(g.spentCents, 100)
    }

    func testCentsFormat() {
        XCTAssertEqual(Cents.format(1234), "$12.34")
        XCTAssertEqual(Cents.format(5), "$0.05")
        XCTAssertEqual(Cents.format(2500), "$25.00")
    }
}

/// Deterministic generator for property tests.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
