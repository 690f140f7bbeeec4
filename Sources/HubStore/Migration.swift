import Foundation

/// One numbered SQL file from `migrations/` (NNN_name.sql) with its SHA-256 checksum.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    public let checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hexDigest(Array(sql.utf8))
    }

    /// Reads every `NNN_name.sql` in `directory`, sorted by number; other files are ignored.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.directoryUnreadable(directory.path)
        }
        var migrations: [Migration] = []
        for file in names where file.hasSuffix(".sql") {
            let stem = file.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError.badFileName(file)
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: underscore)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (a, b) in zip(migrations, migrations.dropFirst()) where a.version == b.version {
            throw MigrationError.duplicateVersion(a.version)
        }
        return migrations
    }

    /// Finds the migrations folder: an explicit path, $COLLECTION_HUB_MIGRATIONS, ./migrations,
    /// or the source checkout the executable was built in (.build/<config>/collection-hub).
    public static func locateDirectory(explicit: String?) -> URL? {
        var candidates: [URL] = []
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["COLLECTION_HUB_MIGRATIONS"] {
            candidates.append(URL(fileURLWithPath: env))
        }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("migrations"))
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(dir.appendingPathComponent("migrations"))
            dir = dir.deletingLastPathComponent()
        }
        // #filePath is this source file: Sources/HubStore/Migration.swift → ../../migrations.
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("migrations"))
        return candidates.first { url in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
                && ((try? FileManager.default.contentsOfDirectory(atPath: url.path))?.contains { $0.hasSuffix(".sql") } ?? false)
        }
    }
}

/// Why migrating stopped; each case reads as one sentence saying what to do.
public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case directoryUnreadable(String)
    case badFileName(String)
    case duplicateVersion(Int)
    case checksumMismatch(version: Int, name: String)
    case failed(version: Int, name: String, reason: String)
    case lockTimeout(seconds: Int)
    case unknownAppliedVersion(Int)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path):
            return "cannot read the migrations folder \(path); pass --migrations-dir or run from the project folder"
        case .badFileName(let file):
            return "migration file \(file) is not named NNN_name.sql; rename it"
        case .duplicateVersion(let v):
            return "two migration files share the number \(v); renumber one of them"
        case .checksumMismatch(let v, let name):
            return "migration \(v)_\(name).sql was changed after it was applied; restore the applied file and put the change in a new migration"
        case .failed(let v, let name, let reason):
            return "migration \(v)_\(name).sql failed and was rolled back: \(reason)"
        case .lockTimeout(let s):
            return "another process held the migration lock for \(s) s; check for a stuck `collection-hub migrate`"
        case .unknownAppliedVersion(let v):
            return "the database has migration \(v) applied, which this build does not know; run a newer collection-hub"
        }
    }
}
