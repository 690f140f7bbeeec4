import ArgumentParser
import Foundation
import HubCore
import HubStore

/// `collection-hub token create|list|revoke`: the secret is printed once, only its hash is kept.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Org id or slug.") var org: String
        @Option(help: "Email of the token's user (created if new).") var email: String = "admin@example.com"
        @Option(help: "Token name.") var name: String = "cli"
        @Option(name: .customLong("permission"), help: "Permission (repeatable): admin.automation, collection.view.")
        var permissions: [String] = [Permission.adminAutomation]
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try withDatabase(database) { db in
                let org = try findOrg(self.org, db)
                let user = try OrgRepository(pool: db.pool).userEnsure(email: email, displayName: email)
                let (record, secret) = try TokenRepository(pool: db.pool)
                    .tokenCreate(orgID: org.id, userID: user.id, name: name, permissions: permissions)
                if json {
                    try printJSON(CreatedToken(token: secret, record: record))
                } else {
                    print(secret)
                    printError("token \(record.id.uuidString.lowercased()) for org \(org.slug); this is the only time it is shown")
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an org's tokens (never the secrets).")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Org id or slug.") var org: String
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try withDatabase(database) { db in
                let tokens = try TokenRepository(pool: db.pool).tokenList(orgID: try findOrg(org, db).id)
                if json { try printJSON(tokens); return }
                for t in tokens {
                    let state = t.revokedAt == nil ? "active" : "revoked"
                    print("\(t.id.uuidString.lowercased())  \(state)  \(t.name)  \(t.permissions.joined(separator: ","))")
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Org id or slug.") var org: String
        @Argument(help: "Token id.") var id: String

        func run() throws {
            try withCLIErrors {
                guard let tokenID = UUID(uuidString: id) else { throw CLIError("\(id) is not a token id (a UUID)") }
                let db = try OpenDatabase(database, migrate: true, logger: makeLogger("collection-hub"))
                defer { db.close() }
                guard try TokenRepository(pool: db.pool).tokenRevoke(orgID: try findOrg(org, db).id, tokenID: tokenID) else {
                    throw CLIError("no active token \(id) in that org")
                }
                print("revoked \(id)")
            }
        }
    }
}

struct CreatedToken: Encodable {
    let token: String
    let record: TokenRecord
}

func findOrg(_ idOrSlug: String, _ db: OpenDatabase) throws -> OrgRecord {
    guard let org = try OrgRepository(pool: db.pool).orgFind(idOrSlug) else {
        throw CLIError("no org \(idOrSlug); create one with `collection-hub org create NAME`")
    }
    return org
}
