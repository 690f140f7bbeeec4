import ArgumentParser
import Foundation
import HubCore
import HubStore

/// `collection-hub org create NAME`, `collection-hub org list`.
struct OrgCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "org", abstract: "Manage organisations.",
                                                    subcommands: [Create.self, List.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an organisation and print its id.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Display name.") var name: String
        @Option(help: "URL-safe short name (default: from the name).") var slug: String?
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try withDatabase(database) { db in
                let org = try OrgRepository(pool: db.pool).orgCreate(name: name, slug: slug)
                if json { try printJSON(org) } else { print("created org \(org.slug) \(org.id.uuidString.lowercased())") }
            }
        }
    }
}

extension OrgCommand {
    /// `org list`: what `--org` accepts (slug or id) for every org.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List organisations: slug, id and name.")
        @OptionGroup var database: DatabaseOptions
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try withDatabase(database) { db in
                let orgs = try OrgRepository(pool: db.pool).orgList()
                if json { return try printJSON(orgs) }
                if orgs.isEmpty { return print("no orgs yet; create one with `collection-hub org create NAME`") }
                for line in CLIText.orgLines(orgs) { print(line) }
            }
        }
    }
}

/// Prints an Encodable as JSON on one line, written like the API's answers (pipe to `jq .`
/// to indent it).
func printJSON<T: Encodable>(_ value: T) throws {
    print(String(decoding: try JSONWriter.encoded(value), as: UTF8.self))
}
