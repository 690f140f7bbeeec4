/// The run state machine: pending → running → (paused ↔ running) → completed / failed /
/// cancelled. Pure; the store applies the result with a guarded UPDATE.
public enum RunLifecycle {
    /// The state `command` leads to from `state`, or why it may not.
    public static func apply(_ command: RunCommand, to state: RunState) throws(RunTransitionError) -> RunTransition {
        guard command.allowedSourceStatuses.contains(state.status) else {
            throw RunTransitionError(command: command, from: state)
        }
        let next: RunState
        switch command {
        case .start:
            next = RunState(status: .running)
        case .pause(let reason):
            // An admin may take over a run paused for its provider; nothing re-pauses a
            // run an admin paused.
            if state.status == .paused && state.reason != .providerUnavailable {
                throw RunTransitionError(command: command, from: state)
            }
            next = RunState(status: .paused, reason: reason)
        case .resume(let actor):
            // The engine retries its own outage pauses only; it must never overrule an admin.
            if actor == .engine && state.reason != .providerUnavailable {
                throw RunTransitionError(command: command, from: state)
            }
            next = RunState(status: .running)
        case .complete(let reason):
            next = RunState(status: .completed, reason: reason)
        case .fail(let reason):
            next = RunState(status: .failed, reason: reason)
        case .cancel:
            next = RunState(status: .cancelled, reason: .cancelledByAdmin)
        }
        return RunTransition(from: state, to: next)
    }
}
