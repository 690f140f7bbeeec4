import Foundation
import HubCore
import HubStore

/// What the REST API and the CLI call: settings, catalog, estimates, runs and their
/// items. Every read and write is scoped to the caller's org.
public final class CollectionService: Sendable {
    /// A failure the API maps to an HTTP status (400/404/409/422).
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case validation([FieldError])
        case overBudget(String)
        case notFound(String)
        case invalidTransition(String)
        case conflict(String)

        public var description: String {
            switch self {
            case .validation(let errors): return errors.map(\.message).joined(separator: "; ")
            case .overBudget(let s), .notFound(let s), .invalidTransition(let s), .conflict(let s): return s
            }
        }
    }

    /// An estimate with the org's budget verdict.
    public struct EstimateResult: Sendable, Encodable {
        public let estimate: CostEstimate
        public let settings: BudgetSettings
        public let verdict: BudgetVerdict

        public var percentOfCap: Int {
            switch verdict {
            case .withinBudget: return settings.budgetCapCents == 0 ? 0 : estimate.totalCents * 100 / settings.budgetCapCents
            case .softWarning(let p), .overCap(let p): return p
            }
        }
        public var verdictName: String {
            switch verdict {
            case .withinBudget: return "within_budget"
            case .softWarning: return "soft_warning"
            case .overCap: return "over_cap"
            }
        }
        public var warnings: [String] {
            switch verdict {
            case .withinBudget: return []
            case .softWarning(let p):
                return ["estimate \(Cents.format(estimate.totalCents)) is \(p)% of the \(Cents.format(settings.budgetCapCents)) cap"]
            case .overCap(let p):
                return ["estimate \(Cents.format(estimate.totalCents)) is \(p)% of the \(Cents.format(settings.budgetCapCents)) cap"]
            }
        }

        enum CodingKeys: String, CodingKey {
            case categories, verdict, warnings
            case totalCents = "total_cents"
            case expectedProducts = "expected_products"
            case expectedSellers = "expected_sellers"
            case expectedItems = "expected_items"
            case basisText = "basis_text"
            case budgetCapCents = "budget_cap_cents"
            case softWarningPercent = "soft_warning_percent"
            case percentOfCap = "percent_of_cap"
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(estimate.categories, forKey: .categories)
            try c.encode(estimate.totalCents, forKey: .totalCents)
            try c.encode(estimate.expectedProducts, forKey: .expectedProducts)
            try c.encode(estimate.expectedSellers, forKey: .expectedSellers)
            try c.encode(estimate.expectedItems, forKey: .expectedItems)
            try c.encode(estimate.basisText, forKey: .basisText)
            try c.encode(settings.budgetCapCents, forKey: .budgetCapCents)
            try c.encode(settings.softWarningPercent, forKey: .softWarningPercent)
            try c.encode(percentOfCap, forKey: .percentOfCap)
            try c.encode(verdictName, forKey: .verdict)
            try c.encode(warnings, forKey: .warnings)
        }
    }

    /// A created run and the budget warnings the caller should show.
    public struct CreatedRun: Sendable {
        public let run: RunRecord
        public let warnings: [String]
    }

    /// Who did something, for the audit trail.
    public struct Actor: Sendable {
        public let userID: UUID
        public let ipAddress: String?
        public let userAgent: String?
        public init(userID: UUID, ipAddress: String? = nil, userAgent: String? = nil) {
            self.userID = userID
            self.ipAddress = ipAddress
            self.userAgent = userAgent
        }
    }

    let pool: ConnectionPool
    let unitCosts: UnitCosts
    let timeZone: TimeZone
    let catalog: CatalogRepository
    let runs: RunRepository
    let items: ItemRepository
    let audit = ActivityLogRepository()

    public init(pool: ConnectionPool, unitCosts: UnitCosts = UnitCosts(), timeZone: TimeZone = .current) {
        self.pool = pool
        self.unitCosts = unitCosts
        self.timeZone = timeZone
        catalog = CatalogRepository(pool: pool)
        runs = RunRepository(pool: pool)
        items = ItemRepository(pool: pool)
    }

    // MARK: Settings and catalog

    public func getSettings(orgID: UUID) throws -> BudgetSettings { try catalog.settingsGet(orgID: orgID) }

    public func updateSettings(orgID: UUID, _ settings: BudgetSettings, actor: Actor) throws -> BudgetSettings {
        do { try settings.validate() } catch { throw Failure.validation(error.errors) }
        try pool.withTransaction { c in
            try catalog.settingsPut(orgID: orgID, settings, on: c)
            try audit.activityRecord(c, orgID: orgID, userID: actor.userID, runID: nil, action: "collection.settings.update",
                                     details: ["budget_cap_cents": String(settings.budgetCapCents),
                                               "soft_warning_percent": String(settings.softWarningPercent),
                                               "max_concurrent_runs": String(settings.maxConcurrentRuns)],
                                     ipAddress: actor.ipAddress, userAgent: actor.userAgent)
        }
        return settings
    }

    public func listCategories() throws -> [Category] { try catalog.categoryList() }

    // MARK: Estimates and runs

    public func estimate(orgID: UUID, categoryIDs: [String]) throws -> EstimateResult {
        let categories = try resolveCategories(categoryIDs)
        // Learned from the org's own completed runs; categories without any fall back to the catalog.
        let history = try EstimateHistoryRepository(pool: pool).history(orgID: orgID, categoryIDs: categories.map(\.id))
        let estimate = CostEstimator.estimate(categories: categories, unitCosts: unitCosts, history: history)
        let settings = try catalog.settingsGet(orgID: orgID)
        return EstimateResult(estimate: estimate, settings: settings,
                              verdict: BudgetPolicy.evaluate(estimateCents: estimate.totalCents, settings: settings))
    }

    /// Creates a pending run; refuses an estimate above the cap, warns from the soft percentage.
    public func createRun(orgID: UUID, name: String?, categoryIDs: [String], actor: Actor, now: Date = Date()) throws -> CreatedRun {
        let validName: String?
        do { validName = try RunNaming.validate(name) } catch { throw Failure.validation(error.errors) }
        let result = try estimate(orgID: orgID, categoryIDs: categoryIDs)
        if case .overCap = result.verdict {
            throw Failure.overBudget("the estimate \(Cents.format(result.estimate.totalCents)) is above the budget cap of \(Cents.format(result.settings.budgetCapCents)); choose fewer categories or raise the cap")
        }
        let run = try pool.withTransaction { c -> RunRecord in
            let run = try runs.runCreate(.init(orgID: orgID, userID: actor.userID,
                                               name: validName ?? RunNaming.defaultName(at: now, timeZone: timeZone),
                                               categoryIDs: categoryIDs, estimate: result.estimate, settings: result.settings), on: c)
            try audit.activityRecord(c, orgID: orgID, userID: actor.userID, runID: run.id, action: "collection.run.create",
                                     details: ["name": run.name, "categories": categoryIDs.joined(separator: ","),
                                               "estimated_cost_cents": String(run.estimatedCostCents)],
                                     ipAddress: actor.ipAddress, userAgent: actor.userAgent)
            return run
        }
        return CreatedRun(run: run, warnings: result.warnings)
    }

    public func getRun(orgID: UUID, runID: UUID) throws -> RunRecord {
        guard let run = try runs.runGet(orgID: orgID, runID: runID) else { throw Failure.notFound("no such run") }
        return run
    }

    /// Newest first; `cursor` is the opaque `next_cursor` of the previous page.
    public func listRuns(orgID: UUID, status: RunStatus?, limit: Int, cursor: String?) throws -> (runs: [RunRecord], nextCursor: String?) {
        var before: (Date, UUID)?
        if let cursor {
            guard let parsed = RunPageCursor(cursor) else {
                throw Failure.validation([FieldError(field: "cursor", message: "cursor is not one this API gave out")])
            }
            before = (parsed.createdAt, parsed.runID)
        }
        guard (1...1000).contains(limit) else { throw Failure.validation([FieldError(field: "limit", message: "limit must be between 1 and 1000")]) }
        let page = try runs.runList(orgID: orgID, status: status, limit: limit, before: before)
        let next = page.count == limit ? page.last.flatMap { RunPageCursor(after: $0.createdAt, runID: $0.id)?.text } : nil
        return (page, next)
    }

    public func pause(orgID: UUID, runID: UUID, actor: Actor) throws -> RunRecord {
        try transition(orgID: orgID, runID: runID, .pause(.admin), action: "collection.run.pause", actor: actor)
    }

    public func resume(orgID: UUID, runID: UUID, actor: Actor) throws -> RunRecord {
        try transition(orgID: orgID, runID: runID, .resume(by: .admin), action: "collection.run.resume", actor: actor)
    }

    public func cancel(orgID: UUID, runID: UUID, actor: Actor) throws -> RunRecord {
        try transition(orgID: orgID, runID: runID, .cancel, action: "collection.run.cancel", actor: actor)
    }

    private func transition(orgID: UUID, runID: UUID, _ command: RunCommand, action: String, actor: Actor) throws -> RunRecord {
        do {
            return try pool.withTransaction { c in
                let run = try runs.runTransition(orgID: orgID, runID: runID, command: command, on: c)
                try audit.activityRecord(c, orgID: orgID, userID: actor.userID, runID: runID, action: action,
                                         details: ["status": run.status.rawValue], ipAddress: actor.ipAddress, userAgent: actor.userAgent)
                return run
            }
        } catch let error as RunTransitionError {
            throw Failure.invalidTransition(error.description)
        } catch StoreError.notFound(let s) {
            throw Failure.notFound(s)
        } catch StoreError.conflict(let s) {
            throw Failure.conflict(s)
        }
    }

    public func listItems(orgID: UUID, runID: UUID, status: ItemStatus?, itemType: ItemType?, after: Int64?, before: Int64?,
                          limit: Int) throws -> (items: [ItemRecord], nextCursor: Int64?) {
        _ = try getRun(orgID: orgID, runID: runID)
        let page = try items.itemsList(runID: runID, status: status, itemType: itemType, after: after, before: before, limit: limit)
        return (page, page.count == limit ? page.last?.seq : nil)
    }

    public func listSellers(orgID: UUID, search: String?, limit: Int, offset: Int) throws -> [SellerRecord] {
        try items.sellersList(orgID: orgID, search: search, limit: limit, offset: offset)
    }

    public func counts(orgID: UUID) throws -> (running: Int, pending: Int, paused: Int) { try runs.runCounts(orgID: orgID) }

    private func resolveCategories(_ ids: [String]) throws -> [Category] {
        guard !ids.isEmpty else { throw Failure.validation([FieldError(field: "category_ids", message: "choose at least one category")]) }
        guard ids.count <= 100 else { throw Failure.validation([FieldError(field: "category_ids", message: "at most 100 categories")]) }
        guard Set(ids).count == ids.count else {
            throw Failure.validation([FieldError(field: "category_ids", message: "a category is listed twice")])
        }
        let found = try catalog.categoryFind(ids)
        if found.count != ids.count {
            let known = Set(found.map(\.id))
            let unknown = ids.filter { !known.contains($0) }.map { String($0.prefix(64)) }
            // Name the valid ids: the catalog is small, and a typo is the usual cause.
            let valid = try catalog.categoryList().map(\.id).sorted()
            throw Failure.validation([FieldError(field: "category_ids",
                                                 message: "unknown categories: \(unknown.joined(separator: ", ")); known: \(valid.joined(separator: ", "))")])
        }
        return found
    }
}
