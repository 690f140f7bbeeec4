import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import XCTest

/// Issue 14 §1: estimates learned from earlier runs match what a run then does, and the
/// progress shown while it runs matches the truth. The simulated provider is seeded, so
/// these are properties of the simulation, not of timing.
final class EstimateAccuracyTests: XCTestCase {
    let three = ["electronics", "home-kitchen", "books"]

    func testLearnedEstimateAndProgressMatchTheRun() throws {
        let f = try EngineFixture()
        let sim = quietSim(failureRate: 0.02)
        // Small batches: progress is sampled at every commit, so finer commits, finer samples.
        let engine = try f.engine(sim) { $0.batchMaxItems = 10 }
        engine.start()
        defer { engine.stop() }

        let first = try f.service.estimate(orgID: f.org, categoryIDs: three)
        XCTAssertEqual(first.estimate.basisText, "catalog figures")
        XCTAssertEqual(first.estimate.categories.map(\.basisText), ["catalog figure", "catalog figure", "catalog figure"])

        // One completed run of each category.
        for category in three {
            let run = try f.service.createRun(orgID: f.org, name: "learn \(category)", categoryIDs: [category], actor: f.actor).run
            XCTAssertEqual(try f.waitForEnd(run.id).status, .completed)
        }

        let learned = try f.service.estimate(orgID: f.org, categoryIDs: three)
        XCTAssertEqual(learned.estimate.categories.map(\.basisText), ["from 1 earlier run", "from 1 earlier run", "from 1 earlier run"])

        // Every run event of the new run, as clients receive them, from the first commit on.
        let listener = try PostgresConnection(conninfo: f.pool.configuration.conninfo)
        defer { listener.close() }
        try listener.listen()
        let created = try f.service.createRun(orgID: f.org, name: "three", categoryIDs: three, actor: f.actor).run
        XCTAssertEqual(created.plannedItems, learned.estimate.expectedItems)
        XCTAssertEqual(created.estimatedCostCents, learned.estimate.totalCents)
        let events = runEvents(listener, created.id)
        let run = try f.waitForEnd(created.id)
        XCTAssertEqual(run.status, .completed)
        XCTAssertNil(run.statusReason)

        // Estimate against actual.
        let actualItems = run.processedItems + run.failedItems + run.skippedItems
        let itemError = Double(learned.estimate.expectedItems - actualItems) / Double(actualItems)
        let costError = Double(learned.estimate.totalCents - run.actualCostCents) / Double(run.actualCostCents)
        print("""
            [estimate] catalog figures: \(first.estimate.expectedItems) items, \(Cents.format(first.estimate.totalCents))
            [estimate] learned (\(learned.estimate.basisText)): \(learned.estimate.expectedItems) items, \(Cents.format(learned.estimate.totalCents))
            [estimate] actual: \(actualItems) items, \(Cents.format(run.actualCostCents)); error items \(String(format: "%+.1f", itemError * 100))%, cost \(String(format: "%+.1f", costError * 100))%
            """)
        XCTAssertLessThanOrEqual(abs(itemError), 0.15, "items: estimated \(learned.estimate.expectedItems), actual \(actualItems)")
        XCTAssertLessThanOrEqual(abs(costError), 0.15, "cost: estimated \(learned.estimate.totalCents), actual \(run.actualCostCents)")

        // Progress shown against the truth when the run crosses each quarter of its items.
        for (quarter, done, shown) in quarters(events, actualItems: actualItems, label: "learned") {
            let truth = Double(done) * 100 / Double(actualItems)
            XCTAssertLessThanOrEqual(abs(shown - truth), 10, "at \(quarter)%: shown \(shown), truth \(truth)")
        }

        // The plan is kept; the best-known total ends at the actual count.
        XCTAssertEqual(run.plannedItems, learned.estimate.expectedItems)
        XCTAssertEqual(run.estimatedCostCents, learned.estimate.totalCents)
        XCTAssertEqual(run.expectedItems, actualItems)
        XCTAssertEqual(run.progressPercent, 100)
        XCTAssertEqual(run.estimate?.expectedItems, learned.estimate.expectedItems)
        XCTAssertEqual(Set(run.categoryStats.keys), Set(three))
        XCTAssertTrue(run.categoryStats.values.allSatisfy(\.complete))
        XCTAssertEqual(run.categoryStats.values.reduce(0) { $0 + $1.costCents }, run.actualCostCents)
        XCTAssertEqual(run.categoryStats.values.reduce(0) { $0 + $1.items }, actualItems)
    }

    /// A first run has only catalog figures (no seller repeats assumed): progress still
    /// never goes backwards and ends at 100; its figures are printed for the record.
    func testFirstRunProgressFromCatalogFigures() throws {
        let f = try EngineFixture()
        let engine = try f.engine(quietSim(failureRate: 0.02)) { $0.batchMaxItems = 10 }
        let listener = try PostgresConnection(conninfo: f.pool.configuration.conninfo)
        defer { listener.close() }
        try listener.listen()
        let created = try f.service.createRun(orgID: f.org, name: "first", categoryIDs: three, actor: f.actor).run
        engine.start()
        defer { engine.stop() }
        let events = runEvents(listener, created.id)
        let run = try f.waitForEnd(created.id)
        let actualItems = run.processedItems + run.failedItems + run.skippedItems
        print("[estimate] first run, catalog figures: planned \(run.plannedItems) items, \(Cents.format(run.estimatedCostCents)); actual \(actualItems) items, \(Cents.format(run.actualCostCents))")
        XCTAssertEqual(quarters(events, actualItems: actualItems, label: "first run").count, 3)
        XCTAssertEqual(run.progressPercent, 100)
        XCTAssertEqual(run.plannedItems, created.plannedItems)
    }

    /// Run events of `runID` until it ends, as clients receive them.
    func runEvents(_ listener: PostgresConnection, _ runID: UUID) -> [[String: Any]] {
        var events: [[String: Any]] = []
        var ended = false
        XCTAssertTrue(waitUntil(timeout: 60) {
            for note in (try? listener.waitForNotifications(timeout: .milliseconds(200))) ?? [] {
                guard let object = try? JSONSerialization.jsonObject(with: Data(note.payload)) as? [String: Any],
                      object["k"] as? String == "run", object["run"] as? String == runID.uuidString.lowercased(),
                      let ev = object["ev"] as? [String: Any] else { continue }
                events.append(ev)
                if let status = ev["status"] as? String, ["completed", "failed", "cancelled"].contains(status) { ended = true }
            }
            return ended
        }, "the run did not end")
        return events
    }

    /// The first event past each quarter of the actual items: (quarter, done, shown %).
    /// Also checks that the shown progress never went backwards.
    func quarters(_ events: [[String: Any]], actualItems: Int, label: String) -> [(Int, Int, Double)] {
        let samples = events.compactMap { ev -> (done: Int, shown: Double)? in
            guard let p = ev["processed_items"] as? Int, let shown = (ev["progress_percent"] as? NSNumber)?.doubleValue else { return nil }
            return (p + (ev["failed_items"] as? Int ?? 0) + (ev["skipped_items"] as? Int ?? 0), shown)
        }
        XCTAssertGreaterThan(samples.count, 8, "too few commits observed")
        for (a, b) in zip(samples, samples.dropFirst()) {
            XCTAssertGreaterThanOrEqual(b.shown, a.shown, "progress went backwards")
        }
        return [25, 50, 75].compactMap { quarter in
            guard let sample = samples.first(where: { $0.done * 100 >= quarter * actualItems }) else {
                XCTFail("no event past \(quarter)%"); return nil
            }
            let truth = Double(sample.done) * 100 / Double(actualItems)
            print("[progress] \(label) at \(quarter)%: \(sample.done)/\(actualItems) items done (truth \(String(format: "%.1f", truth))%), shown \(sample.shown)%")
            return (quarter, sample.done, sample.shown)
        }
    }

    /// Another org's runs teach this org nothing.
    func testHistoryIsTheOrgsOwn() throws {
        let f = try EngineFixture()
        let other = try OrgRepository(pool: f.pool).orgCreate(name: "Other Org").id
        let engine = try f.engine(quietSim())
        engine.start()
        defer { engine.stop() }
        let run = try f.service.createRun(orgID: other, name: "theirs", categoryIDs: ["beauty"], actor: f.actor).run
        XCTAssertTrue(waitUntil(timeout: 30) { (try? f.service.getRun(orgID: other, runID: run.id).status) == .completed })
        XCTAssertEqual(try f.service.estimate(orgID: other, categoryIDs: ["beauty"]).estimate.categories[0].basisText, "from 1 earlier run")
        XCTAssertEqual(try f.service.estimate(orgID: f.org, categoryIDs: ["beauty"]).estimate.categories[0].basisText, "catalog figure")
    }

    /// A cancelled run keeps its plan and its best-known total; the plan columns cannot be
    /// rewritten by any writer.
    func testPlanIsNeverRewritten() throws {
        let f = try EngineFixture()
        let created = try f.service.createRun(orgID: f.org, name: "plan", categoryIDs: ["beauty"], actor: f.actor).run
        try f.pool.query("UPDATE collection_runs SET planned_items = 1, estimated_cost_cents = 1, total_items = 1 WHERE id = $1", [created.id])
        let after = try f.run(created.id)
        XCTAssertEqual(after.plannedItems, created.plannedItems)
        XCTAssertEqual(after.estimatedCostCents, created.estimatedCostCents)
        XCTAssertEqual(after.expectedItems, created.plannedItems)
        let cancelled = try f.service.cancel(orgID: f.org, runID: created.id, actor: f.actor)
        XCTAssertEqual(cancelled.plannedItems, created.plannedItems)
    }
}
