import ArgumentParser
import HubStore

/// `collection-hub migrate`: apply pending migrations and say what was done.
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        try withCLIErrors {
            let db = try OpenDatabase(database, migrate: false, logger: makeLogger("collection-hub.migrate"))
            defer { db.close() }
            let report = try OpenDatabase.runMigrations(database, conninfo: db.conninfo, logger: db.logger)
            if report.applied.isEmpty {
                print("nothing to apply: \(report.alreadyApplied) migrations already applied")
            } else {
                print("applied \(report.applied.count) migrations: \(report.applied.map(String.init).joined(separator: ", "))")
            }
        }
    }
}

/// Runs a command body with signal-safe cleanup and turns known failures into one line.
func withCLIErrors(_ body: () throws -> Void) throws {
    ShutdownCoordinator.shared.install()
    do {
        try body()
        ShutdownCoordinator.shared.runActions()
    } catch let error as ExitCode {
        ShutdownCoordinator.shared.runActions()
        throw error
    } catch let error as ValidationError {
        ShutdownCoordinator.shared.runActions()
        throw error
    } catch {
        ShutdownCoordinator.shared.runActions()
        printError("error: \(error)")
        throw ExitCode(2)
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.write(string)
    }
}

import Foundation
enum FileHandleWriter {
    static func write(_ string: String) { FileHandle.standardError.write(Data(string.utf8)) }
}
