import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import Logging
import XCTest

/// Issue 13 item 6: a paid call is never repeated because it was slow. Heartbeats run on
/// their own timer (paced by an injected clock), so a call longer than the lease keeps it; an
/// executor whose heartbeat is stopped loses it; a provider timeout above a third of the lease
/// is refused.
final class LeaseHeartbeatTests: XCTestCase {
    // MARK: The window (a value)

    func testLeaseWindowDatesRenewalsBySendTimeAndNeverGoesBack() {
        var w = LeaseWindow(timeout: .seconds(9), claimedAt: .seconds(1))
        XCTAssertEqual(w.heldUntil, .seconds(10))
        XCTAssertEqual(w.nextHeartbeat, .seconds(4))
        w.renewed(sentAt: .seconds(5))
        XCTAssertEqual(w.heldUntil, .seconds(14))
        XCTAssertEqual(w.nextHeartbeat, .seconds(8))
        // A renewal sent earlier but answered later changes nothing.
        w.renewed(sentAt: .seconds(3))
        XCTAssertEqual(w.heldUntil, .seconds(14))
        XCTAssertTrue(w.covers(callTimeout: .seconds(3), startingAt: .seconds(10)))
        XCTAssertFalse(w.covers(callTimeout: .seconds(4), startingAt: .seconds(10)), "the call would end as the lease lapses")
        XCTAssertFalse(w.covers(callTimeout: .zero, startingAt: .seconds(14)))
    }

    // MARK: The keeper, by a hand-moved clock (no database, no sleeping)

    func testKeeperRenewsEveryThirdOfTheLeaseAfterTheLastRenewal() throws {
        let clock = ManualTimeSource()
        let renew = RenewScript()
        let lost = Alarm()
        let keeper = LeaseKeeper(window: LeaseWindow(timeout: .seconds(3), claimedAt: .zero), clock: clock, label: "t",
                                 logger: Logger(label: "test"), lost: lost, renew: renew.call)
        keeper.start()
        defer { keeper.stop() }
        XCTAssertTrue(waitUntil { clock.deadlines == [.seconds(1)] }, "first heartbeat not set a third of the lease after the claim")
        // A commit at 0.5 s renewed the lease: the heartbeat moves to 1.5 s.
        keeper.renewed(sentAt: .milliseconds(500))
        clock.advance(to: .seconds(1))
        XCTAssertTrue(waitUntil { clock.deadlines == [.milliseconds(1500)] }, "\(clock.deadlines)")
        XCTAssertEqual(renew.calls, 0, "a heartbeat right after a commit")
        clock.advance(to: .milliseconds(1500))
        XCTAssertTrue(waitUntil { renew.calls == 1 && clock.deadlines == [.milliseconds(2500)] }, "\(renew.calls) \(clock.deadlines)")
        XCTAssertTrue(keeper.covers(callTimeout: .seconds(2)))
        XCTAssertFalse(keeper.isLost)
        XCTAssertFalse(lost.isRung)
        // The database is unreachable: retried a tenth of the lease later, the lease not given up.
        renew.next = .fail
        clock.advance(to: .milliseconds(2500))
        XCTAssertTrue(waitUntil { renew.calls == 2 && clock.deadlines == [.milliseconds(2800)] }, "\(renew.calls) \(clock.deadlines)")
        XCTAssertFalse(keeper.isLost)
        // The fence no longer matches: lost, the executor's alarm rings, heartbeats end.
        renew.next = .fenced
        clock.advance(to: .milliseconds(2800))
        XCTAssertTrue(waitUntil { lost.isRung })
        XCTAssertTrue(keeper.isLost)
        XCTAssertTrue(waitUntil { clock.deadlines.isEmpty })
        XCTAssertEqual(renew.calls, 3)
    }

    func testStoppedKeeperNeverRenewsAgain() {
        let clock = ManualTimeSource()
        let renew = RenewScript()
        let keeper = LeaseKeeper(window: LeaseWindow(timeout: .seconds(3), claimedAt: .zero), clock: clock, label: "t",
                                 logger: Logger(label: "test"), lost: Alarm(), renew: renew.call)
        keeper.start()
        XCTAssertTrue(waitUntil { clock.deadlines == [.seconds(1)] })
        keeper.stop()
        XCTAssertTrue(clock.deadlines.isEmpty, "stop returned before the heartbeat thread ended")
        clock.advance(to: .seconds(60))
        XCTAssertEqual(renew.calls, 0)
    }

    // MARK: The engine against PostgreSQL

    /// A paid call held longer than two whole leases (by the database's clock) while another
    /// engine keeps trying to claim: the run stays with its owner, and every item is paid once.
    func testPaidCallLongerThanTheLeaseKeepsItAndIsPaidOnce() throws {
        let scene = try SlowCallScene(firstClock: SystemTimeSource())
        defer { scene.close() }
        let (f, run, provider, second) = (scene.f, scene.run, scene.provider, scene.second)
        let held = try XCTUnwrap(provider.holding)
        let token = try f.run(run.id).leaseToken
        let callStarted = try f.databaseNow()
        second.start()
        XCTAssertTrue(waitUntil(timeout: 60) { (try? f.databaseTime(passed: 4.5, since: callStarted)) == true })
        XCTAssertEqual(provider.holding, held, "the call ended early")
        let during = try f.run(run.id)
        XCTAssertEqual(during.leaseOwner, "first", "taken over during a slow paid call")
        XCTAssertEqual(during.leaseToken, token)
        XCTAssertNil(try RunRepository(pool: f.pool).runClaimNext(owner: "thief", leaseSeconds: 1), "the run was claimable mid-call")
        provider.open()
        let done = try f.waitForEnd(run.id)
        XCTAssertEqual(done.status, .completed)
        XCTAssertEqual(done.leaseOwner, "first")
        let stats = try f.itemStats(run.id)
        XCTAssertEqual(provider.paidCalls(for: held), 1)
        XCTAssertEqual(provider.mostCallsForOneItem, 1, "an item was paid twice")
        XCTAssertEqual(provider.paidCalls, stats.count)
        XCTAssertEqual(stats.distinct, stats.count)
        XCTAssertEqual(done.actualCostCents, stats.cost)
    }

    /// The same slow call with the owner's heartbeat stopped (its clock never moves): the lease
    /// lapses, the run is claimed afresh (by the other engine, or by the first one's own
    /// scheduler under a new fencing token) and the held item is paid again; the stale
    /// executor's late commit is fenced, so no item row is doubled.
    func testStoppedHeartbeatLosesTheLease() throws {
        let scene = try SlowCallScene(firstClock: ManualTimeSource())
        defer { scene.close() }
        let (f, run, provider, first, second) = (scene.f, scene.run, scene.provider, scene.first, scene.second)
        let held = try XCTUnwrap(provider.holding)
        let token = try f.run(run.id).leaseToken
        second.start()
        XCTAssertTrue(waitUntil(timeout: 60) { ((try? f.run(run.id).leaseToken) ?? 0) > token }, "the silent owner kept the run")
        let done = try f.waitForEnd(run.id)
        XCTAssertEqual(done.status, .completed)
        provider.open()
        XCTAssertTrue(waitUntil { first.executingRunIDs.isEmpty }, "the stale executor did not give up")
        XCTAssertEqual(provider.paidCalls(for: held), 2, "the held item was not paid again by the next owner")
        let stats = try f.itemStats(run.id)
        XCTAssertEqual(stats.distinct, stats.count, "the stale owner's commit went through")
        XCTAssertEqual(done.actualCostCents, stats.cost)
    }

    // MARK: Configuration

    func testProviderTimeoutAboveAThirdOfTheLeaseIsRefused() throws {
        var config = EngineConfig()
        config.leaseTimeout = .seconds(10)
        XCTAssertThrowsError(try config.validate(callTimeout: .seconds(4))) {
            XCTAssertTrue("\($0)".contains("third of the lease"), "\($0)")
        }
        XCTAssertNoThrow(try config.validate(callTimeout: .milliseconds(3333)))
        XCTAssertNoThrow(try config.validate(callTimeout: nil))
        let slow = HTTPProvider(config: .init(baseURL: URL(string: "http://127.0.0.1:9/v1")!, timeout: .seconds(10)))
        XCTAssertThrowsError(try config.validate(callTimeout: slow.callTimeout))
        config.leaseTimeout = .seconds(30)
        XCTAssertNoThrow(try config.validate(callTimeout: slow.callTimeout))
        // The library's defaults fit each other.
        XCTAssertNoThrow(try EngineConfig().validate(callTimeout: HTTPProvider(config: .init(baseURL: URL(string: "http://127.0.0.1:9")!)).callTimeout))
    }
}

/// A run over Beauty whose fifth paid call is held at a gate, with engine "first" (paced by
/// `firstClock`) executing it and engine "second" on the same provider, not started yet. Two
/// seconds of lease: heartbeats every 0.67 s leave room for a loaded machine.
private struct SlowCallScene {
    let f: EngineFixture
    let run: RunRecord
    let provider: GatedProvider
    let first: Engine
    let second: Engine

    init(firstClock: any TimeSource) throws {
        f = try EngineFixture()
        run = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["beauty"], actor: f.actor).run
        provider = GatedProvider(quietSim(), holdCall: 5)
        first = try f.engine(provider: provider, owner: "first", lease: .seconds(2)) { $0.clock = firstClock }
        second = try f.engine(provider: provider, owner: "second", lease: .seconds(2))
        first.start()
        XCTAssertTrue(waitUntil { provider.holding != nil }, "the fifth paid call never started")
    }

    func close() {
        provider.open()
        second.stop()
        first.stop()
    }
}

/// What the keeper's renewals answer, set by the test step by step; counts the calls.
// @unchecked Sendable: guarded by `lock`.
private final class RenewScript: @unchecked Sendable {
    enum Answer { case renewed, fenced, fail }
    struct Unreachable: Error {}
    private let lock = NSLock()
    private var answer = Answer.renewed
    private var count = 0

    var next: Answer {
        get { lock.withLock { answer } }
        set { lock.withLock { answer = newValue } }
    }
    var calls: Int { lock.withLock { count } }

    var call: @Sendable () throws -> Bool {
        { [self] in
            let a = lock.withLock { () -> Answer in
                count += 1
                return answer
            }
            switch a {
            case .renewed: return true
            case .fenced: return false
            case .fail: throw Unreachable()
            }
        }
    }
}
