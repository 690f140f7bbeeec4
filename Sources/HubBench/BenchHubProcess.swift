import Foundation
import HubStore

/// A hub under measurement: this very binary started as `serve` in a child process on a
/// temporary data folder (so its CPU and memory are its own), or an existing one (--url).
final class BenchHubProcess {
    let port: Int
    let token: String
    let conninfo: String
    let pid: pid_t?
    private let process: Process?
    private let workDir: URL?

    /// Starts `collection-hub serve --demo` on a free port; `engine` adds the engine with a
    /// zero-latency simulated provider.
    init(engine: Bool, extraArguments: [String] = []) throws {
        let work = URL(fileURLWithPath: "/tmp/collection-hub-bench-\(getpid())-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        workDir = work
        port = try Self.freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        p.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--data-dir", work.appendingPathComponent("pg").path, "--demo",
                       "--pool-size", "16",
                       // Benchmarks hold thousands of connections from one address and token.
                       "--max-connections-per-address", "0", "--max-websockets-per-token", "0"] + (engine ? ["--sim-latency-ms", "0", "--sim-failure-rate", "0"] : ["--no-engine"]) + extraArguments
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        pid = p.processIdentifier
        let reader = LineReader(out.fileHandleForReading)  // also keeps the pipe drained
        guard let line = reader.line(containing: "Admin token", timeout: 120), let token = line.split(separator: " ").last else {
            p.terminate()
            throw BenchError("the hub under test did not start")
        }
        self.token = String(token)
        conninfo = "host=\(work.appendingPathComponent("pg").path) dbname=collection_hub user=postgres"
    }

    /// An existing hub: its port, a token, the database it listens on, and optionally its pid.
    init(url: String, token: String, conninfo: String, pid: pid_t?) throws {
        guard let port = URL(string: url)?.port else { throw BenchError("--url must look like ws://127.0.0.1:8080/ws") }
        self.port = port
        self.token = token
        self.conninfo = conninfo
        self.pid = pid
        process = nil
        workDir = nil
    }

    /// SIGINT and wait: the hub stops its PostgreSQL; then the folder goes.
    func stop() {
        guard let process else { return }
        process.interrupt()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { process.terminate() }
        if let workDir { try? FileManager.default.removeItem(at: workDir) }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// CPU and memory of a process from /proc.
enum ProcessStats {
    /// User + system CPU seconds.
    static func cpuSeconds(_ pid: pid_t) -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return nil }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// A /proc/<pid>/status field in MB (VmRSS, VmHWM).
    static func memoryMB(_ pid: pid_t, _ field: String) -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }

    /// Raises the open-file limit to 65,536 (10,000 connections on each side) — not to the
    /// hard maximum: the hub inherits it and libwebsockets sizes its fd tables from it.
    static func raiseFileLimit() {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        limit.rlim_cur = min(limit.rlim_max, 65_536)
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
