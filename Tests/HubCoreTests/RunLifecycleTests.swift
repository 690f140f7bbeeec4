import HubCore
import XCTest

final class RunLifecycleTests: XCTestCase {
    /// Every state a run can be in, paused twice because resume depends on the reason.
    let states: [RunState] = [
        RunState(status: .pending), RunState(status: .pending, reason: .waitingForSlot),
        RunState(status: .running),
        RunState(status: .paused, reason: .admin), RunState(status: .paused, reason: .providerUnavailable),
        RunState(status: .completed), RunState(status: .completed, reason: .budgetExhausted),
        RunState(status: .failed, reason: .providerError), RunState(status: .failed, reason: .leaseLost),
        RunState(status: .cancelled, reason: .cancelledByAdmin),
    ]

    let commands: [RunCommand] = [
        .start, .pause(.admin), .pause(.providerUnavailable), .resume(by: .admin), .resume(by: .engine),
        .complete(nil), .complete(.budgetExhausted), .fail(.providerError), .fail(.leaseLost), .cancel,
    ]

    /// The expected table, written out independently of the implementation: the target of
    /// each allowed (state, command) pair; every pair not listed must be refused.
    func expectedTarget(_ state: RunState, _ command: RunCommand) -> RunState? {
        switch (state.status, command) {
        case (.pending, .start): return RunState(status: .running)
        case (.pending, .cancel), (.running, .cancel), (.paused, .cancel):
            return RunState(status: .cancelled, reason: .cancelledByAdmin)
        case (.running, .pause(let r)): return RunState(status: .paused, reason: r)
        case (.running, .complete(let r)): return RunState(status: .completed, reason: r)
        case (.running, .fail(let r)), (.paused, .fail(let r)): return RunState(status: .failed, reason: r)
        case (.paused, .resume(by: .admin)): return RunState(status: .running)
        case (.paused, .resume(by: .engine)):
            return state.reason == .providerUnavailable ? RunState(status: .running) : nil
        case (.paused, .pause(.admin)):
            // Admin takeover of an outage pause, so the engine will not auto-resume it.
            return state.reason == .providerUnavailable ? RunState(status: .paused, reason: .admin) : nil
        default: return nil
        }
    }

    func testEveryStateCommandPair() {
        var allowed = 0
        for state in states {
            for command in commands {
                let result = Result { () throws(RunTransitionError) in try RunLifecycle.apply(command, to: state) }
                switch (result, expectedTarget(state, command)) {
                case (.success(let t), let expected?):
                    allowed += 1
                    XCTAssertEqual(t.from, state)
                    XCTAssertEqual(t.to, expected, "\(command) from \(state)")
                case (.success(let t), nil):
                    XCTFail("\(command) from \(state) should be refused, went to \(t.to)")
                case (.failure(let error), let expected?):
                    XCTFail("\(command) from \(state) should reach \(expected): \(error)")
                case (.failure(let error), nil):
                    XCTAssertEqual(error.command, command)
                    XCTAssertEqual(error.from, state)
                    XCTAssertFalse(error.description.isEmpty)
                }
            }
        }
        XCTAssertEqual(allowed, 21, "pending 2×2, running 7, paused by admin 4, paused for the provider 6")
    }

    /// The documented status graph, and nothing else, is reachable.
    func testReachableStatusPairsAreTheDocumentedOnes() {
        var pairs = Set<String>()
        for state in states {
            for command in commands {
                if let t = try? RunLifecycle.apply(command, to: state) { pairs.insert("\(t.from.status)→\(t.to.status)") }
            }
        }
        XCTAssertEqual(pairs, [
            "pending→running", "pending→cancelled", "running→paused", "paused→running", "running→completed",
            "running→failed", "running→cancelled", "paused→cancelled", "paused→failed",
            "paused→paused", // admin takeover of an outage pause: reason changes only
        ])
    }

    func testTerminalStatusesRefuseEverything() {
        for status in RunStatus.allCases where status.isTerminal {
            for command in commands {
                XCTAssertThrowsError(try RunLifecycle.apply(command, to: RunState(status: status)))
            }
        }
        XCTAssertEqual(RunStatus.allCases.filter(\.isTerminal), [.completed, .failed, .cancelled])
    }

    func testErrorMessages() {
        func message(_ command: RunCommand, _ state: RunState) -> String {
            do {
                _ = try RunLifecycle.apply(command, to: state)
                return "allowed"
            } catch {
                return error.description
            }
        }
        XCTAssertEqual(message(.resume(by: .admin), RunState(status: .completed)), "cannot resume a run that is completed")
        XCTAssertEqual(message(.start, RunState(status: .running)), "cannot start a run that is running")
        XCTAssertEqual(message(.complete(nil), RunState(status: .paused, reason: .admin)), "cannot complete a run that is paused")
        XCTAssertEqual(message(.resume(by: .engine), RunState(status: .paused, reason: .admin)),
                       "a run paused by an admin is only resumed by an admin")
        XCTAssertEqual(message(.pause(.admin), RunState(status: .paused, reason: .admin)),
                       "cannot pause a run that is already paused by an admin")
    }

    func testEngineResumeRefusedOnAdminPause() {
        XCTAssertThrowsError(try RunLifecycle.apply(.resume(by: .engine), to: RunState(status: .paused, reason: .admin)))
        // A paused run without a recorded reason is treated as not the engine's to resume.
        XCTAssertThrowsError(try RunLifecycle.apply(.resume(by: .engine), to: RunState(status: .paused)))
        XCTAssertEqual(try RunLifecycle.apply(.resume(by: .engine), to: RunState(status: .paused, reason: .providerUnavailable)).to,
                       RunState(status: .running))
        XCTAssertEqual(try RunLifecycle.apply(.resume(by: .admin), to: RunState(status: .paused, reason: .admin)).to,
                       RunState(status: .running))
    }

    /// The SQL guard (`status = ANY(allowedSourceStatuses)`) never refuses what apply allows,
    /// and apply refuses every status outside it.
    func testAllowedSourceStatusesAgreeWithApply() {
        for command in commands {
            let sources = Set(command.allowedSourceStatuses)
            for state in states {
                let allowed = (try? RunLifecycle.apply(command, to: state)) != nil
                if allowed { XCTAssertTrue(sources.contains(state.status), "\(command) from \(state)") }
                if !sources.contains(state.status) { XCTAssertFalse(allowed, "\(command) from \(state)") }
            }
        }
        XCTAssertEqual(RunCommand.cancel.allowedSourceStatuses, [.pending, .running, .paused])
        XCTAssertEqual(RunCommand.resume(by: .engine).allowedSourceStatuses, [.paused])
    }

    func testRawValuesMatchTheSchema() {
        XCTAssertEqual(RunStatus.allCases.map(\.rawValue), ["pending", "running", "paused", "completed", "failed", "cancelled"])
        XCTAssertEqual(RunReason.allCases.map(\.rawValue), ["admin", "provider_unavailable", "waiting_for_slot", "budget_exhausted",
                                                            "cancelled_by_admin", "provider_error", "lease_lost", "waiting_for_executor"])
    }
}
