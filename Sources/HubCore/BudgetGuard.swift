/// The answer to "may I make this paid call?".
public enum BudgetDecision: Sendable, Equatable {
    case allowed
    /// Allowed, and this call is the first to reach the soft percentage: record a warning.
    case allowedCrossingSoftLimit
    /// Not allowed: spent + call would pass the cap.
    case wouldExceedCap
}

/// The budget check before each paid call during a run. Spent never exceeds the cap: a call
/// is counted when it is authorized, before it is made, so no path can overspend.
public struct BudgetGuard: Sendable, Equatable {
    public let capCents: Int
    public let softPercent: Int
    public private(set) var spentCents: Int
    /// Whether the soft warning was already given (kept in the checkpoint across restarts).
    public private(set) var warned: Bool

    public init(capCents: Int, softPercent: Int, spentCents: Int = 0, warned: Bool = false) {
        self.capCents = max(capCents, 0)
        self.softPercent = softPercent
        self.spentCents = min(max(spentCents, 0), self.capCents)
        self.warned = warned
    }

    /// Decides on a call of `callCents` and, when allowed, counts it as spent.
    public mutating func authorize(callCents: Int) -> BudgetDecision {
        precondition(callCents >= 0, "a call cannot cost less than nothing")
        // Compared as "call > cap - spent" so a huge call cannot overflow the addition.
        guard callCents <= capCents - spentCents else { return .wouldExceedCap }
        spentCents += callCents
        if !warned && spentCents * 100 >= softPercent * capCents {
            warned = true
            return .allowedCrossingSoftLimit
        }
        return .allowed
    }

    /// Takes the committed total as the truth (after a restart or a lease takeover). Kept
    /// within 0...cap so the invariant holds even if the cap was lowered meanwhile.
    public mutating func record(spentCents: Int) {
        self.spentCents = min(max(spentCents, 0), capCents)
    }

    /// Gives back a call that was authorized but not charged (the provider refused it).
    public mutating func refund(callCents: Int) {
        spentCents = max(0, spentCents - max(callCents, 0))
    }
}
