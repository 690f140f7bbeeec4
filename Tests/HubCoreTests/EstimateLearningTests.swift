import Foundation
import HubCore
import XCTest

/// The learning math: seller pools, per-category history, learned estimates, projection,
/// progress and rate.
final class EstimateLearningTests: XCTestCase {
    let costs = UnitCosts(amazonProductCallCents: 2, ebaySellerCallCents: 1)

    func stats(listed: Int, failed: Int = 0, perProduct: Int, pool: Double?, paid: Int? = nil, complete: Bool = true) -> CategoryRunStats {
        var s = CategoryRunStats()
        s.listed = listed
        s.productsFetched = listed
        s.productsFailed = failed
        s.sellersDiscovered = (listed - failed) * perProduct
        s.sellersDistinct = Int(SellerPool.expectedDistinct(draws: Double(s.sellersDiscovered), poolSize: pool).rounded())
        s.sellersPaid = paid ?? s.sellersDistinct
        s.costCents = listed * 2 + s.sellersPaid
        s.complete = complete
        return s
    }

    func testPoolSizeInvertsExpectedDistinct() throws {
        for (pool, draws) in [(84.0, 240), (500.0, 300), (20.0, 25)] {
            let distinct = SellerPool.expectedDistinct(draws: Double(draws), poolSize: pool)
            let found = try XCTUnwrap(SellerPool.poolSize(draws: draws, distinct: Int(distinct.rounded())))
            XCTAssertEqual(found, pool, accuracy: pool * 0.1, "pool \(pool), \(draws) draws")  // distinct is rounded to a whole seller
        }
        XCTAssertNil(SellerPool.poolSize(draws: 10, distinct: 10), "no repeats: no bound")
        XCTAssertNil(SellerPool.poolSize(draws: 0, distinct: 0))
        XCTAssertEqual(SellerPool.expectedDistinct(draws: 7, poolSize: nil), 7)
        XCTAssertEqual(SellerPool.coverage(draws: 7, poolSize: nil), 0)
        XCTAssertLessThan(SellerPool.expectedDistinct(draws: 240, poolSize: 84), 84)
    }

    func testHistoryLearnsRatesAndSkipsUnfinishedCategories() throws {
        let h = try XCTUnwrap(CategoryHistory(categoryID: "e", samples: [
            stats(listed: 60, failed: 2, perProduct: 4, pool: 84),
            stats(listed: 64, failed: 0, perProduct: 4, pool: 84),
            stats(listed: 5, perProduct: 1, pool: nil, complete: false),
        ]))
        XCTAssertEqual(h.runs, 2)
        XCTAssertEqual(h.listedProducts, 62)
        XCTAssertEqual(h.productFailureRate, 2.0 / 124, accuracy: 1e-9)
        XCTAssertEqual(h.sellersPerProduct, 4, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(h.poolSize), 84, accuracy: 5)
        XCTAssertNil(CategoryHistory(categoryID: "e", samples: [stats(listed: 5, perProduct: 1, pool: nil, complete: false)]))
        // A resumed category may have lost repeats: its pool is not learned from.
        var resumed = stats(listed: 60, perProduct: 4, pool: 84)
        resumed.resumed = true
        XCTAssertNil(CategoryHistory(categoryID: "e", samples: [resumed])?.poolSize)
    }

    func testCatalogFigureWithoutHistory() {
        let c = Category(id: "toys", name: "Toys", expectedProducts: 50, expectedSellersPerProduct: 4)
        let e = CostEstimator.estimate(categories: [c], unitCosts: costs, history: .none)
        XCTAssertEqual(e.categories[0].ebayCalls, 200)
        XCTAssertEqual(e.categories[0].basisText, "catalog figure")
        XCTAssertEqual(e.basisText, "catalog figures")
    }

    /// Three categories drawing from one pool of 84 sellers: a run of all three pays for
    /// about 84 sellers, not three times the single-category count.
    func testSharedPoolIsPaidForOnce() {
        let categories = [("a", 60, 4), ("b", 80, 3), ("c", 120, 2)].map {
            Category(id: $0.0, name: $0.0, expectedProducts: $0.1, expectedSellersPerProduct: $0.2)
        }
        let history = EstimateHistory(samples: categories.map { ($0.id, stats(listed: $0.expectedProducts, perProduct: $0.expectedSellersPerProduct, pool: 84)) },
                                      orgSellers: 84)
        let e = CostEstimator.estimate(categories: categories, unitCosts: costs, history: history)
        XCTAssertEqual(e.expectedProducts, 260)
        XCTAssertEqual(Double(e.expectedSellers), 84, accuracy: 4)
        XCTAssertEqual(e.categories.map(\.basisText), ["from 1 earlier run", "from 1 earlier run", "from 1 earlier run"])
        XCTAssertEqual(e.basisText, "from 1 earlier run")
        XCTAssertEqual(e.totalCents, 520 + e.expectedSellers)
    }

    /// Disjoint large pools (no repeats observed) add up.
    func testUnboundedPoolsAddUp() {
        let categories = [Category(id: "a", name: "A", expectedProducts: 10, expectedSellersPerProduct: 9),
                          Category(id: "b", name: "B", expectedProducts: 10, expectedSellersPerProduct: 9)]
        let history = EstimateHistory(samples: [("a", stats(listed: 20, perProduct: 2, pool: nil)),
                                                ("b", stats(listed: 30, perProduct: 3, pool: nil))], orgSellers: 130)
        let e = CostEstimator.estimate(categories: categories, unitCosts: costs, history: history)
        XCTAssertEqual(e.categories.map(\.amazonCalls), [20, 30])
        XCTAssertEqual(e.categories.map(\.ebayCalls), [40, 90])
    }

    func testMixedBasisText() {
        let categories = [Category(id: "a", name: "A", expectedProducts: 10, expectedSellersPerProduct: 1),
                          Category(id: "b", name: "B", expectedProducts: 10, expectedSellersPerProduct: 1)]
        let history = EstimateHistory(samples: [("a", stats(listed: 10, perProduct: 1, pool: nil)),
                                                ("a", stats(listed: 10, perProduct: 1, pool: nil))], orgSellers: 10)
        let e = CostEstimator.estimate(categories: categories, unitCosts: costs, history: history)
        XCTAssertEqual(e.categories.map(\.basisText), ["from 2 earlier runs", "catalog figure"])
        XCTAssertEqual(e.basisText, "from earlier runs for 1 of 2 categories, catalog figures for the rest")
    }

    func testProjectionUsesActualsListingAndPlan() {
        let plan = [CategoryEstimate(categoryId: "a", name: "A", amazonCalls: 10, amazonCents: 20, ebayCalls: 20, ebayCents: 20, totalCents: 40, basedOnRuns: 2),
                    CategoryEstimate(categoryId: "b", name: "B", amazonCalls: 10, amazonCents: 20, ebayCalls: 10, ebayCents: 10, totalCents: 30, basedOnRuns: 2),
                    CategoryEstimate(categoryId: "c", name: "C", amazonCalls: 5, amazonCents: 10, ebayCalls: 5, ebayCents: 5, totalCents: 15, basedOnRuns: 2)]
        XCTAssertEqual(RunProjection.expectedItems(plan: plan, stats: [:], currentIndex: 0), 60)
        var a = CategoryRunStats()
        a.listed = 12
        a.productsFetched = 3
        a.sellersPaid = 9
        // Listing known: 12 products, sellers at the plan's 2 per product.
        XCTAssertEqual(RunProjection.expectedItems(plan: plan, stats: ["a": a], currentIndex: 0), 12 + 24 + 20 + 10)
        a.productsFetched = 12
        a.sellersPaid = 15
        a.complete = true
        // Finished: what it did.
        XCTAssertEqual(RunProjection.expectedItems(plan: plan, stats: ["a": a], currentIndex: 1), 27 + 20 + 10)
        // A refused listing: nothing from b.
        XCTAssertEqual(RunProjection.expectedItems(plan: plan, stats: ["a": a], currentIndex: 2), 27 + 10)
    }

    /// A catalog plan assumes no repeats; once repeats show, the category's own pool projects it.
    func testProjectionLearnsWithinACatalogCategory() {
        let plan = [CategoryEstimate(categoryId: "a", name: "A", amazonCalls: 60, amazonCents: 120, ebayCalls: 240, ebayCents: 240, totalCents: 360)]
        var a = CategoryRunStats()
        a.listed = 60
        a.productsFetched = 20
        a.sellersDiscovered = 80
        a.sellersDistinct = Int(SellerPool.expectedDistinct(draws: 80, poolSize: 84).rounded())
        a.sellersPaid = a.sellersDistinct
        let total = RunProjection.expectedItems(plan: plan, stats: ["a": a], currentIndex: 0)
        XCTAssertEqual(Double(total), 60 + 84 * (1 - pow(83.0 / 84, 240)), accuracy: 8)
    }

    /// In a first run, a finished category's repeats shrink the catalog figures of the
    /// categories after it: their sellers were mostly paid for already.
    func testProjectionDiscountsLaterCatalogCategories() {
        let plan = [CategoryEstimate(categoryId: "a", name: "A", amazonCalls: 60, amazonCents: 120, ebayCalls: 240, ebayCents: 240, totalCents: 360),
                    CategoryEstimate(categoryId: "b", name: "B", amazonCalls: 120, amazonCents: 240, ebayCalls: 240, ebayCents: 240, totalCents: 480)]
        let a = stats(listed: 60, perProduct: 4, pool: 84)
        let total = RunProjection.expectedItems(plan: plan, stats: ["a": a], currentIndex: 1)
        let unseen = 1 - SellerPool.coverage(draws: 240, poolSize: 84)
        XCTAssertEqual(Double(total), Double(a.items + 120) + 240 * unseen, accuracy: 3)
        XCTAssertLessThan(total, a.items + 120 + 30)
    }

    func testProgressNeverGoesBackAndETA() {
        XCTAssertEqual(RunProgress.permille(done: 50, expected: 200), 250)
        XCTAssertEqual(RunProgress.permille(done: 51, expected: 400, previous: 250), 250)
        XCTAssertEqual(RunProgress.permille(done: 500, expected: 400), 1000)
        XCTAssertEqual(RunProgress.permille(done: 0, expected: 0), 0)
        XCTAssertEqual(RunProgress.etaSeconds(done: 50, expected: 150, itemsPerSecond: 20), 5)
        XCTAssertNil(RunProgress.etaSeconds(done: 50, expected: 150, itemsPerSecond: nil))
    }

    func testRateMeterForgetsOldSamples() throws {
        var meter = RateMeter(window: 10)
        XCTAssertNil(meter.itemsPerSecond)
        meter.record(done: 0, at: 0)
        meter.record(done: 100, at: 10)
        XCTAssertEqual(try XCTUnwrap(meter.itemsPerSecond), 10, accuracy: 1e-9)
        // A long pause, then work again: after a window the pause no longer counts.
        meter.record(done: 100, at: 100)
        meter.record(done: 150, at: 105)
        meter.record(done: 200, at: 110)
        XCTAssertEqual(try XCTUnwrap(meter.itemsPerSecond), 10, accuracy: 1e-9)
    }

    func testStatsJSON() throws {
        var s = CategoryRunStats()
        s.listed = 3
        s.sellersPaid = 2
        let text = String(decoding: try JSONEncoder().encode(s), as: UTF8.self)
        XCTAssertTrue(text.contains("\"sellers_paid\":2") && text.contains("\"listed\":3"), text)
        XCTAssertEqual(try JSONDecoder().decode(CategoryRunStats.self, from: Data(text.utf8)), s)
    }
}
