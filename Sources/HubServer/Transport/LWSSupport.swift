import CLibWebSockets
import HubCore
import Foundation

// Internal lws helpers of the server loop (the ones the client loop shares are in HubLWS).

/// lws's own pollfd bookkeeping (lock, unlock, change mode, add, delete), sent to protocol 0
/// around every POLLOUT change: six per client per wave. The loop keeps no poll table of its
/// own, so these return before the loop lookup, dispatch and stall timing (the kit's c_hub
/// sends them to lws's dummy callback for the same reason).
@inline(__always)
func isPollBookkeeping(_ reason: lws_callback_reasons) -> Bool {
    switch reason {
    case LWS_CALLBACK_LOCK_POLL, LWS_CALLBACK_UNLOCK_POLL, LWS_CALLBACK_CHANGE_MODE_POLL_FD,
         LWS_CALLBACK_ADD_POLL_FD, LWS_CALLBACK_DEL_POLL_FD:
        return true
    default:
        return false
    }
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
