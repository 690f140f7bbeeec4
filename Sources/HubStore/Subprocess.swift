import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn + waitpid. Foundation's Process waits for
/// EOF on a descriptor the child inherits, so it hangs when the child leaves a daemon
/// behind (pg_ctl start leaves the postmaster); the child here also gets no descriptor of
/// ours beyond stdin/stdout/stderr, so a postmaster can never hold the hub's socket.
enum Subprocess {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `path arguments…` with output captured through a temporary file.
    static func run(_ path: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("collection-hub-exec-\(getpid())-\(UUID().uuidString)").path
        let fd = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(outputPath)") }
        defer {
            close(fd)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fd, 1)
        posix_spawn_file_actions_adddup2(&actions, fd, 2)
        markDescriptorsCloseOnExec()

        let argv = [path] + arguments
        var pid: pid_t = 0
        let status: Int32 = withOptionalCStrings(argv) { cArgs in
            var mutableArgs = cArgs.map { $0.map { UnsafeMutablePointer(mutating: $0) } }
            return posix_spawn(&pid, path, &actions, nil, &mutableArgs, environ)
        }
        guard status == 0 else {
            throw Failure(description: "cannot run \(path): \(String(cString: strerror(status)))")
        }
        var waitStatus: Int32 = 0
        while waitpid(pid, &waitStatus, 0) < 0 && errno == EINTR {}
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS are macros; decode the wait status by hand.
        let exitCode = (waitStatus & 0x7f) == 0 ? (waitStatus >> 8) & 0xff : 128 + (waitStatus & 0x7f)
        return (exitCode, output)
    }

    /// Sets FD_CLOEXEC on every descriptor above stderr (closefrom for posix_spawn is a GNU
    /// extension Swift's Glibc module does not export).
    private static func markDescriptorsCloseOnExec() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}
