import CLibWebSockets
import Foundation
import Logging

// What the server loop (HubServer) and the client loop (HubClient) share about libwebsockets.
// `package` only: lws pointers never leave this package.

/// Bytes of headroom lws needs in front of every payload given to `lws_write`.
package let lwsPre: Int = Int(chub_lws_pre())

/// Per-thread marker: the value is the identity token of the loop whose service thread
/// this is (nil on every other thread). Lets `preconditionOnLoop()` be race-free and cheap.
package let loopThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key, nil)
    precondition(rc == 0, "pthread_key_create failed")
    return key
}()

// MARK: - libwebsockets logging → swift-log

package let lwsLogger = Logger(label: "libwebsockets")

/// Called by lws on whichever service thread logs. lws lines end with a newline.
private let lwsEmit: @convention(c) (Int32, UnsafePointer<CChar>?) -> Void = { level, line in
    guard let line else { return }
    let text = String(cString: line).trimmingCharacters(in: .whitespacesAndNewlines)
    if level & Int32(LLL_ERR) != 0 {
        lwsLogger.error("\(text)")
    } else if level & Int32(LLL_WARN) != 0 {
        lwsLogger.warning("\(text)")
    } else {
        lwsLogger.debug("\(text)")
    }
}

/// lws's log mask is process-global; it is set once, before the first context is created.
/// `CHUB_LWS_LOG=<mask>` (lws LLL_* bits, e.g. 15) overrides the default (errors + warnings).
package let lwsLoggingConfigured: Void = {
    var mask = Int32(LLL_ERR | LLL_WARN)
    if let env = ProcessInfo.processInfo.environment["CHUB_LWS_LOG"], let value = Int32(env) {
        mask = value
    }
    lws_set_log_level(mask, lwsEmit)
}()

// MARK: - C strings that must outlive an lws context

/// strdup'ed strings handed to lws (protocol names, iface...) that lws keeps pointers to.
package final class CStringArena {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    package init() {}

    /// Init thread (the arena lives as long as its loop).
    package func make(_ string: String) -> UnsafePointer<CChar> {
        guard let p = strdup(string) else { fatalError("strdup failed") }
        pointers.append(p)
        return UnsafePointer(p)
    }

    deinit {
        for p in pointers { free(p) }
    }
}

// MARK: - Loop-confined box

/// Carries a loop-confined (non-Sendable) object through a `@Sendable` closure that will
/// only run on the loop thread. Never touch `value` anywhere else.
// @unchecked Sendable: the value is only touched on the loop thread (the type's contract).
package final class LoopBound<T>: @unchecked Sendable {
    package let value: T
    package init(_ value: T) { self.value = value }
}

/// Names the calling thread (visible in /proc/self/task/*/comm, gdb, top -H).
/// pthread_setname_np is a GNU extension Glibc's Swift module does not export; look it up.
package func setCurrentThreadName(_ name: String) {
    #if os(Linux)
    typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return }
    let setName = unsafeBitCast(symbol, to: SetName.self)
    _ = String(name.prefix(15)).withCString { setName(pthread_self(), $0) }
    #endif
}
