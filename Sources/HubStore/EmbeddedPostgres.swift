import Foundation
import Logging

/// Runs a private PostgreSQL cluster in a data folder: initdb on first use, pg_ctl start
/// listening only on a Unix socket inside that folder, pg_ctl stop at the end.
// @unchecked Sendable: start() and stop() run on the owning command's thread; the only mutable field (startedByUs) is written there.
public final class EmbeddedPostgres: @unchecked Sendable {
    /// Why the launcher stopped; each reads as one sentence saying what to do.
    public enum LaunchError: Error, CustomStringConvertible {
        case binariesNotFound
        case notOwned(path: String, owner: String)
        case unreachable(path: String, user: String)
        case commandFailed(command: String, output: String)

        public var description: String {
            switch self {
            case .binariesNotFound:
                return "PostgreSQL server programs (initdb, pg_ctl) were not found on PATH or in /usr/lib/postgresql/*/bin; install them with `apt-get install postgresql` or set DATABASE_URL"
            case .notOwned(let path, let owner):
                return "the data folder \(path) belongs to \(owner); pass --data-dir with a folder of your own"
            case .unreachable(let path, let user):
                return "the PostgreSQL user \(user) cannot reach \(path) (a parent folder is private); pass --data-dir under /var/tmp or /tmp, or run as a normal user"
            case .commandFailed(let command, let output):
                return "\(command) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(600))"
            }
        }
    }

    public let dataDirectory: URL
    public let databaseName: String
    private let logger: Logger
    private let binDirectory: URL
    /// The OS user the server runs as when we are root (PostgreSQL refuses to run as root).
    private let serverUser: String?
    private var startedByUs = false

    /// Finds the server binaries and decides which user runs the server.
    public init(dataDirectory: URL, databaseName: String = "collection_hub",
                logger: Logger = Logger(label: "collection-hub.postgres")) throws {
        self.dataDirectory = dataDirectory.standardizedFileURL
        self.databaseName = databaseName
        self.logger = logger
        guard let bin = Self.findBinDirectory() else { throw LaunchError.binariesNotFound }
        self.binDirectory = bin
        self.serverUser = getuid() == 0 ? Self.unprivilegedUser() : nil
    }

    /// libpq conninfo for the running cluster: the socket folder is the data folder.
    public var conninfo: String {
        "host=\(dataDirectory.path) dbname=\(databaseName) user=postgres"
    }

    /// Creates the cluster if needed, starts it unless it already runs, creates the database.
    /// Returns the conninfo.
    @discardableResult
    public func start() throws -> String {
        let fm = FileManager.default
        let pgVersion = dataDirectory.appendingPathComponent("PG_VERSION")
        if !fm.fileExists(atPath: pgVersion.path) {
            try initialize()
        } else {
            try checkOwnership()
        }
        if try isRunning() {
            if let owner = recordedOwner(), !Self.isAlive(owner) {
                // The collection-hub that started it was killed; stop it at our exit instead.
                logger.notice("adopting the PostgreSQL server left running by process \(owner), which is gone")
                startedByUs = true
                recordOwner()
            } else {
                logger.info("reusing the PostgreSQL server already running in \(dataDirectory.path)")
            }
        } else {
            try removeStalePidFile()
            logger.info("starting PostgreSQL in \(dataDirectory.path)")
            let options = "-c listen_addresses='' -c unix_socket_directories='\(dataDirectory.path)' -c max_connections=300 -c fsync=on"
            try run(binDirectory.appendingPathComponent("pg_ctl").path,
                    ["start", "-D", dataDirectory.path, "-w", "-t", "60", "-s",
                     "-l", dataDirectory.appendingPathComponent("server.log").path, "-o", options])
            startedByUs = true
            recordOwner()
        }
        try createDatabaseIfMissing()
        return conninfo
    }

    /// Stops the server if this process started it (fast mode: open sessions are closed).
    public func stop() {
        guard startedByUs else { return }
        startedByUs = false
        do {
            try run(binDirectory.appendingPathComponent("pg_ctl").path,
                    ["stop", "-D", dataDirectory.path, "-m", "fast", "-w", "-t", "30", "-s"])
            try? FileManager.default.removeItem(at: ownerFile)
            logger.info("stopped PostgreSQL")
        } catch {
            logger.error("could not stop PostgreSQL: \(error)")
        }
    }

    /// Inside the data folder: two data folders in one parent each keep their own.
    var ownerFile: URL { dataDirectory.appendingPathComponent("collection-hub.owner") }

    /// Where versions before issue 12 kept it: beside the data folder, shared by every
    /// data folder of that parent. Still read when the new file is absent (a cluster left
    /// running by an older collection-hub), and removed once it names no live process.
    var legacyOwnerFile: URL { dataDirectory.deletingLastPathComponent().appendingPathComponent("postgres.owner") }

    /// Which process is responsible for stopping the server, so a successor can tell a
    /// crashed owner (adopt) from a live one (share).
    private func recordOwner() {
        try? String(getpid()).write(to: ownerFile, atomically: true, encoding: .utf8)
        if let legacy = Self.pid(in: legacyOwnerFile), legacy == getpid() || !Self.isAlive(legacy) {
            try? FileManager.default.removeItem(at: legacyOwnerFile)
        }
    }

    private func recordedOwner() -> pid_t? {
        if FileManager.default.fileExists(atPath: ownerFile.path) { return Self.pid(in: ownerFile) }
        return Self.pid(in: legacyOwnerFile)
    }

    private static func pid(in file: URL) -> pid_t? {
        (try? String(contentsOf: file, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private static func isAlive(_ pid: pid_t) -> Bool { kill(pid, 0) == 0 || errno != ESRCH }

    /// True if a postmaster serves this data folder (pg_ctl status exit code 0).
    public func isRunning() throws -> Bool {
        let result = try Self.exec(asUser: serverUser, binDirectory.appendingPathComponent("pg_ctl").path,
                                   ["status", "-D", dataDirectory.path])
        return result.status == 0
    }

    // MARK: - Steps

    private func initialize() throws {
        let fm = FileManager.default
        // The parent must stay traversable for the server's user; the cluster itself is private.
        try fm.createDirectory(at: dataDirectory.deletingLastPathComponent(), withIntermediateDirectories: true,
                               attributes: [.posixPermissions: 0o755])
        try fm.createDirectory(at: dataDirectory, withIntermediateDirectories: false,
                               attributes: [.posixPermissions: 0o700])
        if let user = serverUser {
            try chown(dataDirectory.path, to: user)
            // The parent must be traversable by that user, or initdb cannot even see it.
            let probe = try Self.exec(asUser: user, "/usr/bin/test", ["-w", dataDirectory.path])
            if probe.status != 0 { throw LaunchError.unreachable(path: dataDirectory.path, user: user) }
            logger.notice("running as root: the embedded PostgreSQL server runs as the unprivileged user \(user)")
        }
        logger.info("creating a PostgreSQL cluster in \(dataDirectory.path)")
        try run(binDirectory.appendingPathComponent("initdb").path,
                ["-D", dataDirectory.path, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                 "--locale=C.UTF-8", "--no-instructions"])
    }

    private func checkOwnership() throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: dataDirectory.path)
        let owner = (attributes[.ownerAccountName] as? String) ?? "?"
        let expected = serverUser ?? currentUserName()
        if owner != expected {
            throw LaunchError.notOwned(path: dataDirectory.path, owner: owner)
        }
        if let user = serverUser {
            let probe = try Self.exec(asUser: user, "/usr/bin/test", ["-w", dataDirectory.path])
            if probe.status != 0 { throw LaunchError.unreachable(path: dataDirectory.path, user: user) }
            logger.notice("running as root: the embedded PostgreSQL server runs as the unprivileged user \(user)")
        }
    }

    /// After a crash the lock file may name a process that is gone; pg_ctl status said no
    /// server runs, so the file is stale and would only confuse the next start.
    private func removeStalePidFile() throws {
        let pidFile = dataDirectory.appendingPathComponent("postmaster.pid")
        if FileManager.default.fileExists(atPath: pidFile.path) {
            logger.warning("removing the stale PostgreSQL pid file left by a crash")
            try FileManager.default.removeItem(at: pidFile)
        }
    }

    private func createDatabaseIfMissing() throws {
        let connection = try PostgresConnection(conninfo: "host=\(dataDirectory.path) dbname=postgres user=postgres")
        defer { connection.close() }
        let exists = try connection.query("SELECT 1 FROM pg_database WHERE datname = $1", [databaseName]).count > 0
        if !exists {
            // CREATE DATABASE takes no parameters; the name is ours, quoted as an identifier.
            do {
                try connection.query("CREATE DATABASE \"\(databaseName.replacingOccurrences(of: "\"", with: "\"\""))\"")
            } catch let error as PostgresError where error.sqlState == "42P04" {
                // Another instance created it between our check and our CREATE.
            }
        }
    }

    private func run(_ path: String, _ arguments: [String]) throws {
        let result = try Self.exec(asUser: serverUser, path, arguments)
        guard result.status == 0 else {
            throw LaunchError.commandFailed(command: URL(fileURLWithPath: path).lastPathComponent + " " + (arguments.first ?? ""),
                                            output: result.output)
        }
    }

    private func chown(_ path: String, to user: String) throws {
        let result = try Self.exec(asUser: nil, "/bin/chown", ["-R", user, path])
        guard result.status == 0 else { throw LaunchError.commandFailed(command: "chown", output: result.output) }
    }

    // MARK: - Helpers

    /// Runs a program (through runuser when a user is given) and returns status and output.
    static func exec(asUser user: String?, _ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        if let user {
            return try Subprocess.run("/usr/sbin/runuser", ["-u", user, "--", path] + arguments)
        }
        return try Subprocess.run(path, arguments)
    }

    /// PATH first, then the newest /usr/lib/postgresql/<version>/bin (Debian's layout).
    static func findBinDirectory() -> URL? {
        let fm = FileManager.default
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for dir in path.split(separator: ":") {
            if fm.isExecutableFile(atPath: "\(dir)/initdb") && fm.isExecutableFile(atPath: "\(dir)/pg_ctl") {
                return URL(fileURLWithPath: String(dir))
            }
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for v in versions where fm.isExecutableFile(atPath: "/usr/lib/postgresql/\(v)/bin/initdb") {
            return URL(fileURLWithPath: "/usr/lib/postgresql/\(v)/bin")
        }
        return nil
    }

    /// `postgres` when the package created it, else `nobody`.
    static func unprivilegedUser() -> String {
        getpwnam("postgres") != nil ? "postgres" : "nobody"
    }
}

func currentUserName() -> String {
    guard let pw = getpwuid(getuid()) else { return String(getuid()) }
    return String(cString: pw.pointee.pw_name)
}
