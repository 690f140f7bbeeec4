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
    ///
    /// `pause(.admin)` also leaves from `paused`: an admin taking over a run the engine paused
    /// for its provider turns it into an admin pause, which the engine will not auto-resume.
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
