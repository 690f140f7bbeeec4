import Foundation
import HubClient
import HubEngine
import HubServer
import HubStore
import HubTestSupport
import XCTest

/// `serve --loops N`: N loops on one port, each with its own clients, LISTEN and fan-out.
final class HubGroupTests: XCTestCase {
    private func startGroup(_ h: HubHarness, loops: Int, port: Int = 0) throws -> HubGroup {
        var config = HubConfig(publicDirectory: h.publicDir, conninfo: h.conninfo)
        config.port = port
        let group = HubGroup(loops: loops, config: config, pool: h.pool, api: CollectionAPI(service: CollectionService(pool: h.pool)))
        try group.start()
        return group
    }

    func testEveryLoopDeliversEverySeqToItsClientsAndMetricsAddTheLoopsUp() throws {
        let h = try HubHarness()
        let group = try startGroup(h, loops: 2)
        defer { group.stop() }
        let port = group.boundPort
        // /healthz is 200 only once every loop's LISTEN connection is up.
        XCTAssertTrue(waitUntil { (try? http(port: port, method: "GET", path: "/healthz"))??.status == 200 }, "a loop never listened")

        let run = try h.makeRun()
        let topic = "run:\(run.uuidString.lowercased())"
        // 32 connections: the kernel's SO_REUSEPORT hash puts all of them on one loop with
        // odds of 2^-31, so both loops serve some.
        var collectors: [EventCollector] = []
        for _ in 0..<32 {
            let c = EventCollector(try SimpleWebSocketClient.connect(port: port, headers: [("Authorization", "Bearer \(h.tokenA)")],
                                                                    subprotocol: "collection-hub.v1"))
            c.client.send("{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}")
            collectors.append(c)
        }
        for c in collectors { XCTAssertTrue(c.read { !$0.messages(ofType: "snapshot").isEmpty }) }
        // Any loop answering /metrics counts every loop's clients.
        for _ in 0..<4 { XCTAssertEqual(try metric("hub_connections", port: port), 32) }
        let perLoop = try (0..<2).map { try XCTUnwrap(metric("hub_loop_connections{loop=\"\($0)\"}", port: port)) }
        XCTAssertEqual(perLoop.reduce(0, +), 32)
        XCTAssertTrue(perLoop.allSatisfy { $0 > 0 }, "both loops serve clients: \(perLoop)")

        try h.commitItems(run: run, count: 120, perTransaction: 7)
        for (i, c) in collectors.enumerated() {
            XCTAssertTrue(c.read { $0.itemSeqs.count >= 120 }, "client \(i) got \(c.itemSeqs.count)")
            XCTAssertEqual(c.itemSeqs, Array(1...120), "client \(i)")
        }
    }

    func testAPortHeldByAnotherProcessIsRefusedEvenWithSharing() throws {
        let h = try HubHarness()
        let first = try startGroup(h, loops: 2)
        defer { first.stop() }
        // The second group sets SO_REUSEPORT too, so the kernel alone would let it share.
        XCTAssertThrowsError(try startGroup(h, loops: 2, port: first.boundPort)) {
            XCTAssertTrue("\($0)".contains("in use"), "\($0)")
        }
    }

    func testLimitsCountedPerLoopAreSplitSoTheirSumIsTheLimit() {
        XCTAssertEqual(HubGroup.share(1024, 2), 512)
        XCTAssertEqual(HubGroup.share(5, 2), 3)
        XCTAssertEqual(HubGroup.share(1, 4), 1, "a limit never becomes 0, which means none")
        XCTAssertEqual(HubGroup.share(0, 4), 0, "no limit stays no limit")
    }
}
