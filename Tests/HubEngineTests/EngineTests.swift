import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import XCTest

final class EngineTests: XCTestCase {
    func testRunCompletesWithExactItemsAndDedupedSellers() throws {
        let f = try EngineFixture()
        let sim = quietSim()
        let created = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["collectibles", "beauty"], actor: f.actor)
        XCTAssertTrue(created.run.name.hasPrefix("Collection "))
        let engine = try f.engine(sim)
        engine.start()
        defer { engine.stop() }
        let run = try f.waitForEnd(created.run.id)
        XCTAssertEqual(run.status, .completed)
        XCTAssertNil(run.statusReason)
        let expected = try f.expectedItems(["collectibles", "beauty"], sim: sim)
        let stats = try f.itemStats(run.id)
        XCTAssertEqual(stats.count, expected.products + expected.sellers)
        XCTAssertEqual(stats.distinct, stats.count)
        XCTAssertEqual(stats.maxSeq, stats.count, "sequence numbers have gaps")
        XCTAssertEqual(run.actualCostCents, stats.cost)
        XCTAssertEqual(run.processedItems + run.failedItems + run.skippedItems, stats.count)
        // Variants of one name are one seller row.
        let sellerRows = try f.pool.query("SELECT count(*) AS n FROM sellers WHERE org_id = $1", [f.org]).first!.int("n")
        let distinctNames = try f.pool.query("""
            SELECT count(DISTINCT s.normalized_name) AS n FROM collection_items i JOIN sellers s ON s.id = i.seller_id WHERE i.run_id = $1
            """, [run.id]).first!.int("n")
        XCTAssertEqual(sellerRows, distinctNames)
        XCTAssertLessThan(sellerRows, expected.sellers, "no variant was merged")
    }

    func testEstimateOverCapRejectedAndSoftWarningAllowed() throws {
        let f = try EngineFixture()
        _ = try f.service.updateSettings(orgID: f.org, BudgetSettings(budgetCapCents: 500, softWarningPercent: 80, maxConcurrentRuns: 3), actor: f.actor)
        // beauty: 30×2 + 150×1 = 210; books: 120×2 + 240 = 480 (96%); both: 690.
        XCTAssertThrowsError(try f.service.createRun(orgID: f.org, name: "x", categoryIDs: ["beauty", "books"], actor: f.actor)) {
            guard case .overBudget(let message)? = $0 as? CollectionService.Failure else { return XCTFail("\($0)") }
            XCTAssertTrue(message.contains("$6.90") && message.contains("$5.00"), message)
        }
        XCTAssertEqual(try f.pool.query("SELECT count(*) AS n FROM collection_runs").first!.int("n"), 0)
        let warned = try f.service.createRun(orgID: f.org, name: "  Books  ", categoryIDs: ["books"], actor: f.actor)
        XCTAssertEqual(warned.run.name, "Books")
        XCTAssertEqual(warned.warnings.count, 1)
        XCTAssertEqual(try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["beauty"], actor: f.actor).warnings, [])
        let estimate = try f.service.estimate(orgID: f.org, categoryIDs: ["beauty"])
        XCTAssertEqual(estimate.estimate.categories[0].summary, "30 Amazon calls ($0.60) + ~150 eBay calls ($1.50) = $2.10")
    }

    func testBadInputWritesNothing() throws {
        let f = try EngineFixture()
        for (ids, name) in [([], nil), (["nope"], nil), (["books", "books"], nil), (["books"], String(repeating: "n", count: 201))] as [([String], String?)] {
            XCTAssertThrowsError(try f.service.createRun(orgID: f.org, name: name, categoryIDs: ids, actor: f.actor)) {
                guard case .validation? = $0 as? CollectionService.Failure else { return XCTFail("\($0)") }
            }
        }
        XCTAssertThrowsError(try f.service.updateSettings(orgID: f.org, BudgetSettings(budgetCapCents: -1), actor: f.actor))
        XCTAssertEqual(try f.pool.query("SELECT count(*) AS n FROM collection_runs").first!.int("n"), 0)
        XCTAssertEqual(try f.service.getSettings(orgID: f.org), BudgetSettings())
    }

    /// Random unit costs, caps and failure rates: cost never passes the cap and equals the
    /// sum of item costs.
    func testBudgetPropertyAcrossRandomRuns() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<6 {
            let costs = UnitCosts(amazonProductCallCents: Int.random(in: 1...9, using: &rng), ebaySellerCallCents: Int.random(in: 0...5, using: &rng))
            let f = try EngineFixture(unitCosts: costs)
            let estimate = try f.service.estimate(orgID: f.org, categoryIDs: ["collectibles"]).estimate.totalCents
            _ = try f.service.updateSettings(orgID: f.org, BudgetSettings(budgetCapCents: max(1, estimate), softWarningPercent: 50, maxConcurrentRuns: 3), actor: f.actor)
            let run = try f.service.createRun(orgID: f.org, name: "p\(round)", categoryIDs: ["collectibles"], actor: f.actor).run
            // The estimate fits; shrink the run's own cap (snapshotted at creation) so most
            // runs meet it, as if the provider's counts ran over the estimate.
            let runCap = Int.random(in: 1...max(1, estimate), using: &rng)
            try f.pool.query("UPDATE collection_runs SET budget_cap_cents = $2 WHERE id = $1", [run.id, runCap])
            let engine = try f.engine(quietSim(failureRate: Double.random(in: 0...0.3, using: &rng)))
            engine.start()
            let done = try f.waitForEnd(run.id)
            engine.stop()
            let stats = try f.itemStats(run.id)
            XCTAssertLessThanOrEqual(done.actualCostCents, runCap)
            XCTAssertEqual(done.actualCostCents, stats.cost)
            XCTAssertEqual(done.status, .completed)
            if done.statusReason == .budgetExhausted {
                let cheapest = min(costs.amazonProductCallCents, max(costs.ebaySellerCallCents, 1))
                XCTAssertGreaterThan(done.actualCostCents + cheapest, runCap - max(costs.amazonProductCallCents, costs.ebaySellerCallCents))
            }
        }
    }

    func testOutagePausesThenCompletesByItself() throws {
        let f = try EngineFixture()
        var sim = quietSim(latencyMS: 2)
        sim.outageCalls = [20...35]
        sim.rateLimitCalls = [60...62]
        sim.rateLimitRetryAfter = .milliseconds(100)
        let run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["collectibles"], actor: f.actor).run
        let engine = try f.engine(sim)
        engine.start()
        defer { engine.stop() }
        var sawPause = false
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let r = try f.run(run.id)
            if r.status == .paused && r.statusReason == .providerUnavailable && r.nextRetryAt != nil { sawPause = true }
            if r.status.isTerminal { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        XCTAssertTrue(sawPause, "never observed provider_unavailable")
        let done = try f.waitForEnd(run.id)
        XCTAssertEqual(done.status, .completed)
        let expected = try f.expectedItems(["collectibles"], sim: sim)
        XCTAssertEqual(try f.itemStats(run.id).count, expected.products + expected.sellers)
        XCTAssertEqual(try f.itemStats(run.id).cost, done.actualCostCents)
    }

    func testAbruptStopIsResumedByAnotherEngineWithoutDuplicates() throws {
        let f = try EngineFixture()
        let sim = quietSim(latencyMS: 3)
        let run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["collectibles", "beauty"], actor: f.actor).run
        let first = try f.engine(sim, owner: "first", lease: .seconds(1))
        first.start()
        XCTAssertTrue(waitUntil { (try? f.itemStats(run.id).count) ?? 0 > 40 })
        first.stopAbruptly()
        let before = try f.itemStats(run.id).count
        XCTAssertEqual(try f.run(run.id).status, .running, "an abrupt stop must not touch the run")
        let second = try f.engine(sim, owner: "second", lease: .seconds(1))
        second.start()
        defer { second.stop() }
        let done = try f.waitForEnd(run.id)
        XCTAssertEqual(done.status, .completed)
        XCTAssertEqual(done.leaseOwner, "second")
        let stats = try f.itemStats(run.id)
        let expected = try f.expectedItems(["collectibles", "beauty"], sim: sim)
        XCTAssertGreaterThan(stats.count, before)
        XCTAssertEqual(stats.count, expected.products + expected.sellers)
        XCTAssertEqual(stats.distinct, stats.count)
        XCTAssertEqual(done.actualCostCents, stats.cost, "cost double-counted")
    }

    func testMaxConcurrentRunsIsRespected() throws {
        let f = try EngineFixture()
        _ = try f.service.updateSettings(orgID: f.org, BudgetSettings(budgetCapCents: 100_000, softWarningPercent: 80, maxConcurrentRuns: 2), actor: f.actor)
        let ids = try (0..<4).map { try f.service.createRun(orgID: f.org, name: "r\($0)", categoryIDs: ["collectibles"], actor: f.actor).run.id }
        let engine = try f.engine(quietSim(latencyMS: 1))
        engine.start()
        defer { engine.stop() }
        var maxRunning = 0
        var sawWaiting = false
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let counts = try f.service.counts(orgID: f.org)
            maxRunning = max(maxRunning, counts.running)
            if try f.pool.query("SELECT 1 FROM collection_runs WHERE status_reason = 'waiting_for_slot'").count > 0 { sawWaiting = true }
            if try ids.allSatisfy({ try f.run($0).status.isTerminal }) { break }
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertEqual(maxRunning, 2)
        XCTAssertTrue(sawWaiting)
        for id in ids { XCTAssertEqual(try f.run(id).status, .completed) }
    }

    func testAdminPauseIsNotUndoneAndResumeFinishes() throws {
        let f = try EngineFixture()
        var sim = quietSim(latencyMS: 3)
        sim.outageCalls = [30...60]
        let run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["collectibles"], actor: f.actor).run
        let engine = try f.engine(sim)
        engine.start()
        defer { engine.stop() }
        XCTAssertTrue(waitUntil { (try? f.run(run.id).statusReason) == .providerUnavailable })
        // Another "process" (a second service on the same database) pauses it.
        let other = CollectionService(pool: f.pool)
        XCTAssertEqual(try other.pause(orgID: f.org, runID: run.id, actor: f.actor).statusReason, .admin)
        // The executor meets the admin pause at its next retry (fenced) and lets the run go;
        // with no executor left, nothing could resume it later.
        XCTAssertTrue(waitUntil { !engine.executingRunIDs.contains(run.id) }, "the executor kept the admin-paused run")
        let paused = try f.run(run.id)
        XCTAssertEqual(paused.status, .paused)
        XCTAssertEqual(paused.statusReason, .admin, "the outage logic resumed an admin pause")
        XCTAssertThrowsError(try other.pause(orgID: f.org, runID: run.id, actor: f.actor))
        _ = try other.resume(orgID: f.org, runID: run.id, actor: f.actor)
        XCTAssertEqual(try f.waitForEnd(run.id).status, .completed)
        let actions = try f.pool.query("SELECT action FROM activity_logs WHERE run_id = $1 ORDER BY id", [run.id]).rows.map { try $0.string("action") }
        XCTAssertEqual(actions, ["collection.run.create", "collection.run.pause", "collection.run.resume"])
        XCTAssertThrowsError(try other.cancel(orgID: f.org, runID: run.id, actor: f.actor)) {
            guard case .invalidTransition? = $0 as? CollectionService.Failure else { return XCTFail("\($0)") }
        }
    }

    func testStaleOwnerWriteIsFenced() throws {
        let f = try EngineFixture()
        let run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["beauty"], actor: f.actor).run
        let runs = RunRepository(pool: f.pool)
        let (_, leaseA) = try XCTUnwrap(runs.runClaimNext(owner: "A", leaseSeconds: 0.2))
        XCTAssertTrue(waitUntil {
            (try? f.pool.query("SELECT lease_expires_at < now() AS expired FROM collection_runs WHERE id = $1", [run.id]).first?.bool("expired")) == true
        }, "A's lease never expired")
        let (_, leaseB) = try XCTUnwrap(runs.runClaimNext(owner: "B", leaseSeconds: 10))
        XCTAssertEqual(leaseB.runID, run.id)
        var batch = ItemBatch(checkpoint: RunCheckpoint(), currentCategory: "Beauty")
        batch.items = [NewItem(itemType: .amazonProduct, externalID: "B0STALE", status: .completed, costCents: 2, categoryID: "beauty")]
        let items = ItemRepository(pool: f.pool)
        XCTAssertFalse(try items.itemsCommitBatch(batch, lease: leaseA, orgID: f.org, leaseSeconds: 10))
        XCTAssertTrue(try items.itemsCommitBatch(batch, lease: leaseB, orgID: f.org, leaseSeconds: 10))
        XCTAssertEqual(try f.itemStats(run.id).count, 1)
    }

    func testSellerNameVariantsAreOneRow() throws {
        let f = try EngineFixture()
        let run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["beauty"], actor: f.actor).run
        let (_, lease) = try XCTUnwrap(RunRepository(pool: f.pool).runClaimNext(owner: "A", leaseSeconds: 10))
        var batch = ItemBatch(checkpoint: RunCheckpoint(), currentCategory: "Beauty")
        for (i, name) in ["SELLER ABC", " seller  abc ", "ＳＥＬＬＥＲ　ＡＢＣ"].enumerated() {
            batch.items.append(NewItem(itemType: .ebaySeller, externalID: "s\(i)", status: .completed, costCents: 1, categoryID: "beauty",
                                       seller: NewSeller(displayName: name, platformID: "s\(i)")))
        }
        XCTAssertTrue(try ItemRepository(pool: f.pool).itemsCommitBatch(batch, lease: lease, orgID: f.org, leaseSeconds: 10))
        let rows = try f.pool.query("SELECT normalized_name, times_seen, first_seen_run_id FROM sellers WHERE org_id = $1", [f.org]).rows
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(try rows[0].string("normalized_name"), "seller abc")
        XCTAssertEqual(try rows[0].int("times_seen"), 3)
        XCTAssertEqual(try rows[0].uuid("first_seen_run_id"), run.id)
    }
}
