import Foundation
import HubClient
import HubCore
import HubStore
import HubTestSupport
import XCTest

/// HubClient used as a user would: one `HubSubscriber` on a run, against a real hub whose
/// connections drop while items keep being committed.
final class HubClientResumeTests: XCTestCase {
    func testSubscriberReconnectsAndResumesWithSinceExactlyOnceInOrder() throws {
        let h = try HubHarness()
        let run = try h.makeRun()
        let seqs = SeqLog()
        let subscriber = HubSubscriber(
            .init(port: h.port, token: h.tokenA, backoff: Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))),
            onEvent: { event in
                if event.isItem, let seq = event.seq { seqs.append(seq) }
            })
        subscriber.subscribe(run: run, since: 0)
        subscriber.start()
        try h.commitItems(run: run, count: 20, perTransaction: 3, prefix: "A")
        XCTAssertTrue(waitUntil { seqs.count >= 20 }, "got \(seqs.count)")

        for round in 1...2 {
            // A producer keeps committing across the drop; some items land while no hub listens.
            let producer = DispatchGroup()
            let producerError = SeqLog()
            DispatchQueue.global().async(group: producer) {
                do { try h.commitItems(run: run, count: 30, perTransaction: 1, prefix: "P\(round)-") } catch { producerError.append(-1) }
            }
            try h.restartHub(whileDown: { try h.commitItems(run: run, count: 10, perTransaction: 5, prefix: "D\(round)-") })
            XCTAssertEqual(producer.wait(timeout: .now() + 60), .success)
            XCTAssertEqual(producerError.count, 0)
            XCTAssertTrue(waitUntil { subscriber.sessions > round }, "the subscriber did not reconnect (round \(round))")
        }
        try h.commitItems(run: run, count: 10, perTransaction: 2, prefix: "Z")
        let total = 20 + 2 * 40 + 10
        XCTAssertTrue(waitUntil { seqs.count >= total }, "got \(seqs.count) of \(total)")
        XCTAssertEqual(seqs.values, (1...Int64(total)).map { $0 })
        XCTAssertEqual(subscriber.lastSeq(run: run), Int64(total))
        subscriber.stop()
    }

    /// A refusal is final: a revoked token closes with 4401 and the subscriber stops
    /// instead of reconnecting; an unknown token stops it at the upgrade (401).
    func testSubscriberStopsWhenTheHubRefusesItsToken() throws {
        let h = try HubHarness()
        let (record, token) = try h.makeToken(permissions: [Permission.adminAutomation])
        let statuses = StatusLog()
        let backoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))
        let subscriber = HubSubscriber(.init(port: h.port, token: token, backoff: backoff),
                                       onStatus: { statuses.append($0) }, onEvent: { _ in })
        subscriber.start()
        XCTAssertTrue(waitUntil { subscriber.sessions == 1 })
        XCTAssertTrue(try TokenRepository(pool: h.pool).tokenRevoke(orgID: h.orgA, tokenID: record.id))
        XCTAssertTrue(waitUntil { statuses.values.last == .stopped("closed 4401") }, "\(statuses.values)")
        XCTAssertEqual(subscriber.sessions, 1, "it did not reconnect")

        let unknown = HubSubscriber(.init(port: h.port, token: "chub_unknown", backoff: backoff),
                                    onStatus: { statuses.append($0) }, onEvent: { _ in })
        unknown.start()
        XCTAssertTrue(waitUntil { statuses.values.last.map { if case .stopped(let why) = $0 { why.hasPrefix("HTTP 401") } else { false } } ?? false },
                      "\(statuses.values)")
        XCTAssertEqual(unknown.sessions, 0)
    }
}

/// Statuses reported on the client loop thread, read by the test.
// @unchecked Sendable: every access is under the lock.
private final class StatusLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [HubSubscriber.Status] = []

    func append(_ status: HubSubscriber.Status) { lock.lock(); storage.append(status); lock.unlock() }
    var values: [HubSubscriber.Status] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// A list appended to on the client loop thread and read by the test.
// @unchecked Sendable: every access is under the lock.
private final class SeqLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Int64] = []

    func append(_ seq: Int64) { lock.lock(); storage.append(seq); lock.unlock() }
    var values: [Int64] { lock.lock(); defer { lock.unlock() }; return storage }
    var count: Int { values.count }
}
