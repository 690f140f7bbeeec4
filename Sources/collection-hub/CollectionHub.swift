import ArgumentParser
import HubBench

/// The collection-hub command: engine, hub and operator tools in one program.
@main
struct CollectionHub: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collection-hub",
        abstract: "Collection runs with a real-time progress hub on PostgreSQL.",
        discussion: """
            Without DATABASE_URL every command uses an embedded PostgreSQL cluster in --data-dir
            (default .hub/postgres), started on demand and stopped when the command ends.
            """,
        version: HubVersion.string,
        subcommands: [ServeCommand.self, EngineCommand.self, MigrateCommand.self, OrgCommand.self, TokenCommand.self,
                      CategoriesCommand.self, EstimateCommand.self, RunsCommand.self, BenchCommand.self, VersionCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}

/// This build's version.
enum HubVersion {
    static let string = "0.1.0"
}

/// `collection-hub version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    func run() throws { print("collection-hub \(HubVersion.string)") }
}
