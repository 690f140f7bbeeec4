import ArgumentParser
import Foundation

/// `collection-hub bench hold-clients`: N subscribed clients that read everything until the
/// process is killed. `bench mass-disconnect` starts it as a child and kills it with SIGKILL,
/// so those connections die the way a crashed client's do: no close frame, sockets reaped by
/// the kernel.
struct HoldClientsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold-clients", abstract: "Hold N subscribed clients until killed.",
                                                    shouldDisplay: false)
    @Option var port: Int
    @Option var token: String
    @Option var topic: String
    @Option var clients: Int = 250
    @Option(help: "Give up after this many seconds (every wait has a bound).") var limit: Double = 3600

    func run() throws {
        let sendTimes = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        defer { sendTimes.deallocate() }
        let group = BenchClients(expectedEvents: 0, subscribe: "{\"type\":\"subscribe\",\"topic\":\"\(topic)\"}", sendTimes: sendTimes)
        group.connect(count: clients, port: port, token: token)
        _ = waitUntil(timeout: 120) { group.snapshot.opened + group.snapshot.failed >= clients }
        // Reported once subscribed: the parent's events must reach these clients live.
        group.waitSubscribed()
        print("open \(group.snapshot.subscribed)")
        fflush(nil)
        _ = waitUntil(timeout: limit) { false }
        group.stop()
    }
}

/// A `hold-clients` child process, to be killed.
final class HeldClientsProcess {
    private let process = Process()
    /// Connections the child reported open.
    private(set) var opened = 0

    /// Starts the child and waits (at most 120 s) until its clients are connected.
    init(port: Int, token: String, topic: String, count: Int) throws {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        process.arguments = ["bench", "hold-clients", "--port", "\(port)", "--token", token, "--topic", topic, "--clients", "\(count)"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let reader = LineReader(out.fileHandleForReading)
        guard let line = reader.line(containing: "open ", timeout: 120), let n = Int(line.split(separator: " ").last ?? "") else {
            kill()
            throw BenchError("hold-clients did not report its connections")
        }
        opened = n
    }

    /// SIGKILL, then wait (at most 10 s) for the child to be reaped.
    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        _ = waitUntil(timeout: 10) { !process.isRunning }
    }

    deinit { kill() }
}

/// Reads a child's output until a line matches, with a deadline checked between reads.
// @unchecked Sendable: buffer and ended are guarded by `lock`.
final class LineReader: @unchecked Sendable {
    private let lock = NSLock()
    private var buffer = ""
    private var ended = false

    init(_ handle: FileHandle) {
        // availableData blocks; a reader thread keeps the pipe drained so the child never stalls.
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                lock.withLock {
                    if data.isEmpty { ended = true } else { buffer += String(decoding: data, as: UTF8.self) }
                    if buffer.utf8.count > 1 << 16 { buffer = String(buffer.suffix(1 << 15)) }
                }
                if data.isEmpty { return }
            }
        }
    }

    /// The first line containing `text`, or nil after `timeout` seconds or at end of output.
    func line(containing text: String, timeout: TimeInterval) -> String? {
        var found: String?
        _ = waitUntil(timeout: timeout) {
            lock.withLock {
                found = buffer.split(separator: "\n").first { $0.contains(text) }.map(String.init)
                return found != nil || ended
            }
        }
        return found
    }
}
