import HubCore
import XCTest

final class ItemLifecycleTests: XCTestCase {
    func testEveryPair() {
        let allowed: Set<String> = ["pending→processing", "pending→skipped", "processing→completed",
                                    "processing→failed", "processing→skipped"]
        for from in ItemStatus.allCases {
            for to in ItemStatus.allCases {
                XCTAssertEqual(ItemLifecycle.canMove(from: from, to: to), allowed.contains("\(from)→\(to)"), "\(from)→\(to)")
                XCTAssertEqual(from.canMove(to: to), ItemLifecycle.canMove(from: from, to: to))
            }
        }
        XCTAssertFalse(ItemStatus.failed.canMove(to: .processing), "a failed item is never retried")
    }

    func testSourcesAndFinality() {
        XCTAssertEqual(ItemLifecycle.allowedSourceStatuses(to: .skipped), [.pending, .processing])
        XCTAssertEqual(ItemLifecycle.allowedSourceStatuses(to: .pending), [])
        XCTAssertEqual(ItemStatus.allCases.filter(\.isFinal), [.completed, .failed, .skipped])
        XCTAssertEqual(ItemType.allCases.map(\.rawValue), ["amazon_product", "ebay_seller"])
    }
}
