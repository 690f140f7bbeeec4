import HubCore
import XCTest

final class CentsTests: XCTestCase {
    func testFormat() {
        XCTAssertEqual(Cents.format(1234), "$12.34")
        XCTAssertEqual(Cents.format(5), "$0.05")
        XCTAssertEqual(Cents.format(0), "$0.00")
        XCTAssertEqual(Cents.format(10), "$0.10")
        XCTAssertEqual(Cents.format(2500), "$25.00")
        XCTAssertEqual(Cents.format(10_000_000), "$100000.00")
    }
}
