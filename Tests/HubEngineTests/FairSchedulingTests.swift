import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import XCTest

/// Issue 12, finding 5: one org flooding the engine must not starve another org, and a
/// run that waits says why.
final class FairSchedulingTests: XCTestCase {
    func testAnotherOrgsRunStartsWhileOneOrgFloodsTheExecutors() throws {
        let f = try EngineFixture()
        _ = try f.service.updateSettings(orgID: f.org, BudgetSettings(budgetCapCents: 1_000_000, softWarningPercent: 80, maxConcurrentRuns: 20),
                                         actor: f.actor)
        let orgB = try OrgRepository(pool: f.pool).orgCreate(name: "Org B").id
        let flood = try (0..<8).map { try f.service.createRun(orgID: f.org, name: "a\($0)", categoryIDs: ["collectibles"], actor: f.actor).run.id }
        // Four executors: on its own, org A could take all of them.
        let engine = try f.engine(quietSim(latencyMS: 20)) { $0.maxExecutors = 4 }
        engine.start()
        defer { engine.stop() }
        func count(_ org: UUID, _ status: String) -> Int {
            (try? f.pool.query("SELECT count(*) AS n FROM collection_runs WHERE org_id = $1 AND status = $2", [org, status]).first?.int("n")) ?? -1
        }
        XCTAssertTrue(waitUntil { count(f.org, "running") >= 3 }, "org A's runs never started")

        let created = ContinuousClock.now
        let b = try f.service.createRun(orgID: orgB, name: "b", categoryIDs: ["collectibles"], actor: f.actor).run.id
        var aPendingWhenBStarted = -1
        XCTAssertTrue(waitUntil(timeout: 60) {
            guard (try? f.service.getRun(orgID: orgB, runID: b).status) != .pending else { return false }
            aPendingWhenBStarted = count(f.org, "pending")
            return true
        }, "org B's run never started")
        print("MEASURE fairness: org B's run started \(ContinuousClock.now - created) after creation; org A still had \(aPendingWhenBStarted) pending")
        // B did not have to wait for A's backlog to drain.
        XCTAssertGreaterThan(aPendingWhenBStarted, 0, "org B's run only started once org A's backlog was claimed")
        // A's runs that wait say why (checked while some are still pending).
        XCTAssertTrue(waitUntil {
            let rows = (try? f.pool.query("SELECT status_reason FROM collection_runs WHERE org_id = $1 AND status = 'pending'", [f.org]).rows) ?? []
            return !rows.isEmpty && rows.allSatisfy { (try? $0.optionalString("status_reason")) == "waiting_for_executor" }
        } || count(f.org, "pending") == 0, "pending runs carry no status_reason")
        XCTAssertLessThanOrEqual(count(f.org, "running"), 3, "org A holds more than its share of executors")
        _ = flood
    }
}
