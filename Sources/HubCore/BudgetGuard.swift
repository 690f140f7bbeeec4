/// The answer to "may I make this paid call?".
public enum BudgetDecision: Sendable, Equatable {
    case allowed
    /// Allowed, and this call is the first to reach the soft percentage: record a warning.
    case allowedCrossingSoftLimit
    /// Not allowed: spent + call would pass the cap.
    case wouldExceedCap
}

/// The budget check before each paid call during a run. Spent never exceeds the cap.
public struct BudgetGuard: Sendable, Equatable {
    public let capCents: Int
    public let softPercent: Int
    public private(set) var spentCents: Int
    public private(set) var warned: Bool

    public init(capCents: Int, softPercent: Int, spentCents: Int = 0, warned: Bool = false) {
        self.capCents = capCents
        self.softPercent = softPercent
        self.spentCents = spentCents
        self.warned = warned
    }

    /// Decides on a call of `callCents` and, when allowed, counts it as spent.
    public mutating func authorize(callCents: Int) -> BudgetDecision {
        precondition(callCents >= 0, "a call cannot cost less than nothing")
        let after = spentCents + callCents
        guard after <= capCents else { return .wouldExceedCap }
        spentCents = after
        if !warned && after * 100 >= softPercent * capCents {
            warned = true
            return .allowedCrossingSoftLimit
        }
        return .allowed
    }

    /// Gives back a call that was authorized but not charged (the provider refused it).
    public mutating func refund(callCents: Int) {
        spentCents = max(0, spentCents - callCents)
    }
}
