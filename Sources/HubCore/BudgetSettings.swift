/// An org's collection settings (the seed's collection_settings row).
public struct BudgetSettings: Sendable, Codable, Equatable {
    public var budgetCapCents: Int
    public var softWarningPercent: Int
    public var maxConcurrentRuns: Int

    public static let budgetCapRange = 1...10_000_000
    public static let softWarningPercentRange = 1...100
    public static let maxConcurrentRunsRange = 1...100

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
        if !Self.budgetCapRange.contains(budgetCapCents) {
            errors.append(FieldError(field: "budget_cap_cents", message: "budget cap must be between $0.01 and $100,000.00"))
        }
        if !Self.softWarningPercentRange.contains(softWarningPercent) {
            errors.append(FieldError(field: "soft_warning_percent", message: "soft warning must be between 1 and 100 percent"))
        }
        if !Self.maxConcurrentRunsRange.contains(maxConcurrentRuns) {
            errors.append(FieldError(field: "max_concurrent_runs", message: "concurrent runs must be between 1 and 100"))
        }
        if !errors.isEmpty { throw FieldErrors(errors: errors) }
    }
}
