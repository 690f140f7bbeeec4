/// The state of a collection run (the seed's CHECK constraint values).
public enum RunStatus: String, Sendable, Codable, CaseIterable {
    case pending, running, paused, completed, failed, cancelled

    /// Completed, failed and cancelled runs never change again.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }
}
