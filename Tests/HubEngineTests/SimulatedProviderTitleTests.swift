import Foundation
import HubCore
@testable import HubEngine
import XCTest

/// Demo product titles come from their category's own words and are the same every time.
final class SimulatedProviderTitleTests: XCTestCase {
    func quiet() -> SimulatedProvider {
        var c = SimulatedProvider.Config()
        c.latency = .zero
        c.failureRate = 0
        return SimulatedProvider(config: c)
    }

    func testTitlesUseTheirCategorysNounsAndAreDeterministic() throws {
        let a = quiet(), b = quiet()
        for (id, words) in SimulatedProvider.titleWords {
            let category = Category(id: id, name: id, expectedProducts: 20, expectedSellersPerProduct: 1)
            let refs = try a.listProducts(category: category, cursor: 0, limit: 20).products
            XCTAssertEqual(refs.count, 20)
            for ref in refs {
                let title = try a.fetchProduct(ref).title
                XCTAssertTrue(words.nouns.contains { title.contains(" \($0) ") }, "\(title) has no \(id) noun")
                XCTAssertTrue(words.adjectives.contains { title.hasPrefix("\($0) ") }, "\(title) has no \(id) adjective")
                XCTAssertEqual(try b.fetchProduct(ref).title, title, "same ASIN, same title")
            }
        }
    }

    func testNoCategoryBorrowsAnotherCategorysNouns() {
        // "Novel" under Electronics was the bug: nouns are never shared between categories.
        let all = SimulatedProvider.titleWords.values.flatMap(\.nouns)
        XCTAssertEqual(all.count, Set(all).count)
    }
}
