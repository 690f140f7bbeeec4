import CLibWebSockets
import HubCore
import Foundation
import Logging

// Internal helpers shared by the server loop (Transport) and the client loop (Client).
// Nothing here is public: lws pointers never leave the module.

/// Bytes of headroom lws needs in front of every payload given to `lws_write`.
let lwsPre: Int = Int(chub_lws_pre())

/// Per-thread marker: the value is the identity token of the loop whose service thread
/// this is (nil on every other thread). Lets `preconditionOnLoop()` be race-free and cheap.
let loopThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    let rc = pthread_key_create(&key, nil)
    precondition(rc == 0, "pthread_key_create failed")
    return key
}()

// MARK: - libwebsockets logging → swift-log

let lwsLogger = Logger(label: "libwebsockets")

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
let lwsLoggingConfigured: Void = {
    var mask = Int32(LLL_ERR | LLL_WARN)
    if let env = ProcessInfo.processInfo.environment["CHUB_LWS_LOG"], let value = Int32(env) {
        mask = value
    }
    lws_set_log_level(mask, lwsEmit)
}()

// MARK: - C strings that must outlive an lws context

/// strdup'ed strings handed to lws (protocol names, iface...) that lws keeps pointers to.
final class CStringArena {
    private var pointers: [UnsafeMutablePointer<CChar>] = []

    /// Init thread (the arena lives as long as its loop).
    func make(_ string: String) -> UnsafePointer<CChar> {
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
final class LoopBound<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

// MARK: - Request header access (loop thread, inside an lws callback, while the ah is attached)

enum LWSHeaders {
    /// (token index, lowercased header name without colon) for every request header lws
    /// parses into a token, excluding method/URI/version pseudo tokens.
    static let known: [(token: UInt32, name: String)] = {
        var out: [(UInt32, String)] = []
        let excluded: Set<UInt32> = [
            WSI_TOKEN_GET_URI.rawValue, WSI_TOKEN_POST_URI.rawValue, WSI_TOKEN_OPTIONS_URI.rawValue,
            WSI_TOKEN_PUT_URI.rawValue, WSI_TOKEN_PATCH_URI.rawValue, WSI_TOKEN_DELETE_URI.rawValue,
            WSI_TOKEN_HEAD_URI.rawValue, WSI_TOKEN_CONNECT.rawValue, WSI_TOKEN_HTTP_URI_ARGS.rawValue,
            WSI_TOKEN_HTTP.rawValue, WSI_TOKEN_HTTP1_0.rawValue,
        ]
        for raw in 0..<_WSI_TOKEN_CLIENT_SENT_PROTOCOLS.rawValue where !excluded.contains(raw) {
            guard let cName = lws_token_to_string(lws_token_indexes(rawValue: raw)) else { continue }
            let name = String(cString: cName)
            // Real header names look like "host:"; pseudo tokens look like "get " or ":path".
            guard name.hasSuffix(":"), !name.hasPrefix(":"), name.count > 1 else { continue }
            out.append((raw, String(name.dropLast()).lowercased()))
        }
        return out
    }()

    /// Whole value of one known header (all fragments joined by lws), nil when absent.
    static func value(_ wsi: OpaquePointer, _ token: lws_token_indexes) -> String? {
        let length = Int(lws_hdr_total_length(wsi, token))
        guard length > 0 else { return nil }
        var buffer = [CChar](repeating: 0, count: length + 1)
        let n = lws_hdr_copy(wsi, &buffer, Int32(buffer.count), token)
        guard n >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Value of a header lws does not know as a token (needs LWS_WITH_CUSTOM_HEADERS).
    static func custom(_ wsi: OpaquePointer, _ lowercasedName: String) -> String? {
        let key = lowercasedName + ":"
        return key.withCString { cKey -> String? in
            let keyLength = Int32(strlen(cKey))
            let length = Int(lws_hdr_custom_length(wsi, cKey, keyLength))
            guard length > 0 else { return nil }
            var buffer = [CChar](repeating: 0, count: length + 1)
            let n = lws_hdr_custom_copy(wsi, &buffer, Int32(buffer.count), cKey, keyLength)
            guard n >= 0 else { return nil }
            return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// Every known request header present, plus the configured extra (custom) ones.
    static func capture(_ wsi: OpaquePointer, extra: [String]) -> [(String, String)] {
        var headers: [(String, String)] = []
        for (raw, name) in known {
            if let v = value(wsi, lws_token_indexes(rawValue: raw)) { headers.append((name, v)) }
        }
        for name in extra {
            let lower = name.lowercased()
            if let v = custom(wsi, lower) { headers.append((lower, v)) }
        }
        return headers
    }

    /// The URL arguments as lws stores them: one urldecoded fragment per `&`-separated part.
    static func queryFragments(_ wsi: OpaquePointer) -> [String] {
        var out: [String] = []
        var buffer = [CChar](repeating: 0, count: 4096)
        var index: Int32 = 0
        while true {
            let length = Int(lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, index))
            if length <= 0 { break }
            if buffer.count < length + 1 { buffer = [CChar](repeating: 0, count: length + 1) }
            let n = lws_hdr_copy_fragment(wsi, &buffer, Int32(buffer.count), WSI_TOKEN_HTTP_URI_ARGS, index)
            if n < 0 { break }
            out.append(String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            index += 1
        }
        return out
    }

    /// Loop thread: the client's IP address as text.
    static func peerAddress(_ wsi: OpaquePointer) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        guard lws_get_peer_simple(wsi, &buffer, buffer.count) != nil else { return "" }
        let end = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

// MARK: - Small utilities

/// Names the calling thread (visible in /proc/self/task/*/comm, gdb, top -H).
/// pthread_setname_np is a GNU extension Glibc's Swift module does not export; look it up.
func setCurrentThreadName(_ name: String) {
    #if os(Linux)
    typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return }
    let setName = unsafeBitCast(symbol, to: SetName.self)
    _ = String(name.prefix(15)).withCString { setName(pthread_self(), $0) }
    #endif
}

/// Microseconds for lws_sul_schedule; negative durations become 0.
func microseconds(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    let us = seconds.multipliedReportingOverflow(by: 1_000_000)
    if us.overflow { return seconds < 0 ? 0 : Int64.max / 2 }
    return max(0, us.partialValue + attoseconds / 1_000_000_000_000)
}


/// `{"error":{"code":...,"message":...}}` as UTF-8 bytes.
func jsonErrorBody(code: String, message: String) -> [UInt8] {
    ErrorBody.json(code: code, message: message)
}
