/// What the budget says about an estimate before a run is created.
public enum BudgetVerdict: Sendable, Equatable {
    case withinBudget
    /// At or above the soft percentage, still within the cap: allowed with a warning.
    case softWarning(percentOfCap: Int)
    /// Above the cap: refused. The percentage is for the message ("112% of the cap").
    case overCap(percentOfCap: Int)
}

/// The tiered rule of seed 002: warn from the soft percentage, block above 100%.
public enum BudgetPolicy {
    public static func evaluate(estimateCents: Int, settings: BudgetSettings) -> BudgetVerdict {
        let cap = max(settings.budgetCapCents, 1)
        let percent = Int((Double(estimateCents) * 100 / Double(cap)).rounded(.down))
        if estimateCents > settings.budgetCapCents { return .overCap(percentOfCap: percent) }
        // Integer comparison so "exactly 80%" is a warning regardless of rounding.
        if estimateCents * 100 >= settings.softWarningPercent * settings.budgetCapCents {
            return .softWarning(percentOfCap: percent)
        }
        return .withinBudget
    }
}
