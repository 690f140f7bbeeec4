@testable import HubServer
import XCTest

/// The transport's decisions as values: no socket, no loop.
final class TransportPolicyTests: XCTestCase {
    private let policy = UpgradePolicy(path: "/ws", subprotocol: "collection-hub.v1",
                                       reservedSubprotocols: ["chub-raw-descriptor"])

    func testUpgradePolicyLetsOurUpgradeThrough() {
        XCTAssertNil(policy.check(upgrade: "websocket", path: "/ws", offeredSubprotocols: nil))
        XCTAssertNil(policy.check(upgrade: "WebSocket", path: "/ws", offeredSubprotocols: "x, collection-hub.v1"))
    }

    func testUpgradePolicyRefusals() {
        XCTAssertEqual(policy.check(upgrade: "h2c", path: "/ws", offeredSubprotocols: nil)?.status, 400)
        XCTAssertEqual(policy.check(upgrade: "websocket", path: "/other", offeredSubprotocols: nil)?.status, 404)
        XCTAssertEqual(policy.check(upgrade: "websocket", path: "/ws", offeredSubprotocols: "chat")?.code,
                       "unsupported_subprotocol")
        XCTAssertEqual(policy.check(upgrade: "websocket", path: "/ws",
                                    offeredSubprotocols: "collection-hub.v1, chub-raw-descriptor")?.code,
                       "unsupported_subprotocol")
    }

    func testDecodedQuerySplitsAtTheFirstEquals() {
        let query = DecodedQuery(fragments: ["a=1", "flag", "b=x=y", "=v"])
        XCTAssertEqual(query.text, "a=1&flag&b=x=y&=v")
        XCTAssertEqual(query.items.map(\.name), ["a", "flag", "b", ""])
        XCTAssertEqual(query.items.map(\.value), ["1", "", "x=y", "v"])
        XCTAssertTrue(DecodedQuery(fragments: []).items.isEmpty)
    }
}
