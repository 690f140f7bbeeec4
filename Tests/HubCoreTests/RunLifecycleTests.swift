import HubCore
import XCTest

final class RunLifecycleTests: XCTestCase {
    let commands: [RunCommand] = [.start, .pause(.admin), .pause(.providerUnavailable), .resume(by: .admin),
                                  .resume(by: .engine), .complete(nil), .complete(.budgetExhausted),
                                  .fail(.providerError), .cancel]

    /// The full table: every status × command, allowed exactly where the seed's machine says.
    func testEveryStatusCommandPair() {
        let allowed: [RunStatus: Set<String>] = [
            .pending: ["start", "cancel"],
            .running: ["pause", "complete", "fail", "cancel"],
            .paused: ["resume", "fail", "cancel"],
            .completed: [], .failed: [], .cancelled: [],
        ]
        for status in RunStatus.allCases {
            for command in commands {
                let state = RunState(status: status, reason: status == .paused ? .providerUnavailable : nil)
                let result = Result { () throws(RunTransitionError) in try RunLifecycle.apply(command, to: state) }
                // An admin may take over a run paused for its provider.
                let adminTakeover = status == .paused && command == .pause(.admin)
                let expected = allowed[status]!.contains(command.verb) || adminTakeover
                switch result {
                case .success(let t):
                    XCTAssertTrue(expected, "\(command) from \(status) should be refused")
                    XCTAssertEqual(t.from, state)
                case .failure(let error):
                    XCTAssertFalse(expected, "\(command) from \(status) should be allowed")
                    XCTAssertTrue(error.description.contains(status.rawValue), error.description)
                }
            }
        }
    }

    func testTargets() throws {
        XCTAssertEqual(try RunLifecycle.apply(.start, to: .init(status: .pending)).to, RunState(status: .running))
        XCTAssertEqual(try RunLifecycle.apply(.pause(.admin), to: .init(status: .running)).to, RunState(status: .paused, reason: .admin))
        XCTAssertEqual(try RunLifecycle.apply(.complete(.budgetExhausted), to: .init(status: .running)).to,
                       RunState(status: .completed, reason: .budgetExhausted))
        XCTAssertEqual(try RunLifecycle.apply(.cancel, to: .init(status: .paused, reason: .admin)).to,
                       RunState(status: .cancelled, reason: .cancelledByAdmin))
    }

    func testEngineCannotUndoAdminPause() throws {
        XCTAssertThrowsError(try RunLifecycle.apply(.resume(by: .engine), to: .init(status: .paused, reason: .admin))) { error in
            XCTAssertEqual("\(error)", "a run paused by an admin is only resumed by an admin")
        }
        XCTAssertNoThrow(try RunLifecycle.apply(.resume(by: .engine), to: .init(status: .paused, reason: .providerUnavailable)))
        XCTAssertNoThrow(try RunLifecycle.apply(.resume(by: .admin), to: .init(status: .paused, reason: .admin)))
        XCTAssertNoThrow(try RunLifecycle.apply(.resume(by: .admin), to: .init(status: .paused, reason: .providerUnavailable)))
    }

    func testAllowedSourcesMatchApply() {
        XCTAssertThrowsError(try RunLifecycle.apply(.pause(.admin), to: .init(status: .paused, reason: .admin)))
        for command in commands {
            for status in RunStatus.allCases where !command.allowedSourceStatuses.contains(status) {
                XCTAssertThrowsError(try RunLifecycle.apply(command, to: .init(status: status)))
            }
        }
    }

    func testItemLifecycle() {
        XCTAssertTrue(ItemStatus.pending.canMove(to: .processing))
        XCTAssertTrue(ItemStatus.processing.canMove(to: .failed))
        XCTAssertTrue(ItemStatus.pending.canMove(to: .skipped))
        XCTAssertFalse(ItemStatus.completed.canMove(to: .processing))
        XCTAssertFalse(ItemStatus.failed.canMove(to: .processing), "a failed item is never retried")
    }
}
