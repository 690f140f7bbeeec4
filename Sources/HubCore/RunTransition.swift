/// The result of an allowed command: the state before and after.
public struct RunTransition: Sendable, Equatable {
    public let from: RunState
    public let to: RunState

    public init(from: RunState, to: RunState) {
        self.from = from
        self.to = to
    }
}

/// A transition that is not allowed, with a sentence for the user.
public struct RunTransitionError: Error, Equatable, CustomStringConvertible, Sendable {
    public let command: RunCommand
    public let from: RunState

    public init(command: RunCommand, from: RunState) {
        self.command = command
        self.from = from
    }

    public var description: String {
        if case .resume(by: .engine) = command, from.status == .paused, from.reason == .admin {
            return "a run paused by an admin is only resumed by an admin"
        }
        if case .pause = command, from.status == .paused {
            return "cannot pause a run that is already paused" + (from.reason == .admin ? " by an admin" : "")
        }
        return "cannot \(command.verb) a run that is \(from.status.rawValue)"
    }
}
