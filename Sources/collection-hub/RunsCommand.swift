import ArgumentParser
import Foundation
import HubCore
import HubEngine
import HubStore

/// `collection-hub categories`.
struct CategoriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "categories", abstract: "List the category catalog.")
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try withDatabase(database) { db in
            let categories = try CollectionService(pool: db.pool).listCategories()
            if json { return try printJSON(categories) }
            for c in categories {
                print("\(c.id.padding(toLength: 18, withPad: " ", startingAt: 0)) \(c.name) (\(c.expectedProducts) products, ~\(c.expectedSellersPerProduct) sellers each)")
            }
        }
    }
}

/// `collection-hub estimate --org ORG CATEGORY…`.
struct EstimateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "estimate", abstract: "Estimate the cost of a run.")
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var engineOptions: EngineOptions
    @Option(help: "Org id or slug.") var org: String
    @Argument(help: "Category ids.") var categories: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try withDatabase(database) { db in
            let orgID = try findOrg(org, db).id
            let result = try CollectionService(pool: db.pool, unitCosts: engineOptions.unitCosts).estimate(orgID: orgID, categoryIDs: categories)
            if json { return try printJSON(result) }
            for c in result.estimate.categories { print("\(c.name): \(c.summary) (\(c.basisText))") }
            print("about \(result.estimate.expectedItems) items (\(result.estimate.basisText))")
            print(CLIText.estimateVerdict(result))
        }
    }
}

/// `collection-hub runs create|list|show|pause|resume|cancel`.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "runs", abstract: "Create, list and control collection runs.",
                                                    subcommands: [Create.self, List.self, Show.self, Pause.self, Resume.self, Cancel.self])

    struct Common: ParsableArguments {
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Org id or slug.") var org: String
        @Option(help: "Email of the acting admin (created if new).") var email: String = "admin@example.com"
        @Flag(help: "Print JSON (the run object with the seed's column names).") var json = false

        func withService(costs: UnitCosts = UnitCosts(), _ body: (CollectionService, UUID, CollectionService.Actor) throws -> Void) throws {
            try withDatabase(database) { db in
                let orgID = try findOrg(org, db).id
                let user = try OrgRepository(pool: db.pool).userEnsure(email: email, displayName: email)
                try body(CollectionService(pool: db.pool, unitCosts: costs), orgID, .init(userID: user.id))
            }
        }

        func show(_ run: RunRecord) throws {
            if json { return try printJSON(run) }
            print(CLIText.runLine(run))
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a run (the engine starts it).")
        @OptionGroup var common: Common
        @OptionGroup var engineOptions: EngineOptions
        @Option(help: "Run name (default: Collection <date> <time>).") var name: String?
        @Argument(help: "Category ids.") var categories: [String] = []

        func run() throws {
            try common.withService(costs: engineOptions.unitCosts) { service, org, actor in
                let created = try service.createRun(orgID: org, name: name, categoryIDs: categories, actor: actor)
                for w in created.warnings { printError("warning: \(w)") }
                try common.show(created.run)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List runs, newest first.")
        @OptionGroup var common: Common
        @Option(help: "Only runs with this status (\(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))).") var status: String?
        @Option(help: "How many (1 to \(CLIText.maxLimit)).") var limit: Int = 20

        func validate() throws {
            if let message = CLIText.checkLimit(limit) { throw ValidationError(message) }
            if let status, case .failure(let error) = CLIText.runStatus(status) { throw ValidationError(error.description) }
        }

        func run() throws {
            let status = try self.status.map { try CLIText.runStatus($0).get() }
            try common.withService { service, org, _ in
                let runs = try service.listRuns(orgID: org, status: status, limit: limit, cursor: nil).runs
                if common.json { return try printJSON(runs) }
                try runs.forEach(common.show)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run: state, counts, cost against the cap, plan against actual, times.")
        @OptionGroup var common: Common
        @Argument(help: "Run id.") var id: String
        func run() throws {
            try common.withService { service, org, _ in
                let run = try service.getRun(orgID: org, runID: try parseRunID(id))
                if common.json { return try printJSON(run) }
                for line in CLIText.runDetail(run) { print(line) }
            }
        }
    }

    struct Pause: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Pause a running run (it stays paused until resumed).")
        @OptionGroup var common: Common
        @Argument(help: "Run id.") var id: String
        func run() throws {
            try common.withService { s, org, actor in try common.show(s.pause(orgID: org, runID: try parseRunID(id), actor: actor)) }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a paused run.")
        @OptionGroup var common: Common
        @Argument(help: "Run id.") var id: String
        func run() throws {
            try common.withService { s, org, actor in try common.show(s.resume(orgID: org, runID: try parseRunID(id), actor: actor)) }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a run.")
        @OptionGroup var common: Common
        @Argument(help: "Run id.") var id: String
        func run() throws {
            try common.withService { s, org, actor in try common.show(s.cancel(orgID: org, runID: try parseRunID(id), actor: actor)) }
        }
    }
}

func parseRunID(_ text: String) throws -> UUID {
    guard let id = UUID(uuidString: text) else { throw CLIError("\(text) is not a run id (a UUID)") }
    return id
}
