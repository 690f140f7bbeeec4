import HubCore
import XCTest

final class BudgetPolicyTests: XCTestCase {
    func testVerdictAtThresholds() {
        let s = BudgetSettings(budgetCapCents: 1000, softWarningPercent: 80, maxConcurrentRuns: 3)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 0, settings: s), .withinBudget)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 799, settings: s), .withinBudget)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 800, settings: s), .softWarning(percentOfCap: 80), "exactly the soft threshold warns")
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 1000, settings: s), .softWarning(percentOfCap: 100), "exactly the cap is allowed")
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 1001, settings: s), .overCap(percentOfCap: 100))
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 1500, settings: s), .overCap(percentOfCap: 150))
    }

    /// A threshold that is not a whole number of cents: 80% of $25.01 is 2000.8 cents.
    func testFractionalThreshold() {
        let s = BudgetSettings(budgetCapCents: 2501, softWarningPercent: 80)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 2000, settings: s), .withinBudget)
        XCTAssertEqual(BudgetPolicy.evaluate(estimateCents: 2001, settings: s), .softWarning(percentOfCap: 80))
    }

    func testDefaults() {
        let s = BudgetSettings()
        XCTAssertEqual([s.budgetCapCents, s.softWarningPercent, s.maxConcurrentRuns], [2500, 80, 3])
    }

    func testValidationNamesEveryBadField() {
        XCTAssertNoThrow(try BudgetSettings().validate())
        XCTAssertNoThrow(try BudgetSettings(budgetCapCents: 1, softWarningPercent: 1, maxConcurrentRuns: 1).validate())
        XCTAssertNoThrow(try BudgetSettings(budgetCapCents: 10_000_000, softWarningPercent: 100, maxConcurrentRuns: 100).validate())
        do {
            try BudgetSettings(budgetCapCents: 0, softWarningPercent: 101, maxConcurrentRuns: 0).validate()
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.errors.map(\.field), ["budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"])
            XCTAssertTrue(error.errors.allSatisfy { !$0.message.isEmpty })
        }
        do {
            try BudgetSettings(budgetCapCents: 10_000_001).validate()
            XCTFail("accepted")
        } catch {
            XCTAssertEqual(error.errors, [FieldError(field: "budget_cap_cents", message: "budget cap must be between $0.01 and $100,000.00")])
        }
    }
}
