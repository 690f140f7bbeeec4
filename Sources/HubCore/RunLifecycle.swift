/// Who asked for a transition: an admin's resume may undo any pause, the engine's only its own.
public enum RunActor: String, Sendable {
    case admin, engine
}

/// A requested change of a run's state.
public enum RunCommand: Sendable, Equatable {
    case start
    case pause(RunReason)
    case resume(by: RunActor)
    case complete(RunReason?)
    case fail(RunReason)
    case cancel

    /// The statuses this command may leave from; the SQL layer guards its UPDATE with them
    /// (`WHERE status = ANY($n)`) so two writers cannot both win.
    public var allowedSourceStatuses: [RunStatus] {
        switch self {
        case .start: return [.pending]
        case .pause(let reason): return reason == .admin ? [.running, .paused] : [.running]
        case .resume: return [.paused]
        case .complete: return [.running]
        case .fail: return [.running, .paused]
        case .cancel: return [.pending, .running, .paused]
        }
    }

    /// Verb for error messages ("cannot resume a run that is completed").
    public var verb: String {
        switch self {
        case .start: return "start"
        case .pause: return "pause"
        case .resume: return "resume"
        case .complete: return "complete"
        case .fail: return "fail"
        case .cancel: return "cancel"
        }
    }
}

/// A transition that is not allowed, with a sentence for the user.
public struct RunTransitionError: Error, Equatable, CustomStringConvertible, Sendable {
    public let command: RunCommand
    public let from: RunState
    public var description: String {
        if case .resume(by: .engine) = command, from.status == .paused, from.reason == .admin {
            return "a run paused by an admin is only resumed by an admin"
        }
        return "cannot \(command.verb) a run that is \(from.status.rawValue)"
    }
}

/// The result of an allowed command: the new state.
public struct RunTransition: Sendable, Equatable {
    public let from: RunState
    public let to: RunState
}

/// The run state machine: pending → running → (paused ↔ running) → completed / failed /
/// cancelled. Pure; the store applies the result with a guarded UPDATE.
public enum RunLifecycle {
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
