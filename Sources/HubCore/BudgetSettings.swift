/// An org's collection settings (the seed's collection_settings row).
public struct BudgetSettings: Sendable, Codable, Equatable {
    public var budgetCapCents: Int
    public var softWarningPercent: Int
    public var maxConcurrentRuns: Int

    public init(budgetCapCents: Int = 2500, softWarningPercent: Int = 80, maxConcurrentRuns: Int = 3) {
        self.budgetCapCents = budgetCapCents
        self.softWarningPercent = softWarningPercent
        self.maxConcurrentRuns = maxConcurrentRuns
    }

    enum CodingKeys: String, CodingKey {
        case budgetCapCents = "budget_cap_cents"
        case softWarningPercent = "soft_warning_percent"
        case maxConcurrentRuns = "max_concurrent_runs"
    }

    /// Every field's problem at once, so a form can show each next to its field.
    public func validate() throws(FieldErrors) {
        var errors: [FieldError] = []
        if !(1...10_000_000).contains(budgetCapCents) {
            errors.append(FieldError(field: "budget_cap_cents", message: "budget cap must be between $0.01 and $100,000.00"))
        }
        if !(1...100).contains(softWarningPercent) {
            errors.append(FieldError(field: "soft_warning_percent", message: "soft warning must be between 1 and 100 percent"))
        }
        if !(1...100).contains(maxConcurrentRuns) {
            errors.append(FieldError(field: "max_concurrent_runs", message: "concurrent runs must be between 1 and 100"))
        }
        if !errors.isEmpty { throw FieldErrors(errors: errors) }
    }
}

/// One invalid field and why.
public struct FieldError: Sendable, Codable, Equatable {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// Validation failures, by field.
public struct FieldErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let errors: [FieldError]
    public init(errors: [FieldError]) { self.errors = errors }
    public var description: String { errors.map(\.message).joined(separator: "; ") }
}

/// What the budget says about an estimate before a run is created.
public enum BudgetVerdict: Sendable, Equatable {
    case withinBudget
    /// At or above the soft percentage, still within the cap: allowed with a warning.
    case softWarning(percentOfCap: Int)
    /// Above the cap: refused.
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
