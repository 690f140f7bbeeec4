/// Status plus reason: what a transition is decided on, since resume depends on why a run
/// was paused.
public struct RunState: Sendable, Equatable {
    public var status: RunStatus
    public var reason: RunReason?

    public init(status: RunStatus, reason: RunReason? = nil) {
        self.status = status
        self.reason = reason
    }
}
