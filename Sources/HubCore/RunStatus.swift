/// The state of a collection run (the seed's CHECK constraint values).
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, paused, completed, failed, cancelled

    /// Completed, failed and cancelled runs never change again.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// Why a run is in its state. A run stopped by its budget ends `completed` with
/// `budget_exhausted`: everything it bought is valid data, nothing went wrong.
public enum RunReason: String, Sendable, Codable, CaseIterable {
    case admin
    case providerUnavailable = "provider_unavailable"
    case waitingForSlot = "waiting_for_slot"
    case budgetExhausted = "budget_exhausted"
    case cancelledByAdmin = "cancelled_by_admin"
    case providerError = "provider_error"
    case leaseLost = "lease_lost"
}

/// Status plus reason: what a transition is decided on.
public struct RunState: Sendable, Equatable {
    public var status: RunStatus
    public var reason: RunReason?
    public init(status: RunStatus, reason: RunReason? = nil) {
        self.status = status
        self.reason = reason
    }
}
