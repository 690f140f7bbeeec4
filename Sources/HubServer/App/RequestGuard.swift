import Foundation

/// Cross-site defences for requests a browser sends with the session cookie. Cookies
/// ignore ports (SameSite too), so any page on this host, and any page after DNS
/// rebinding, can make the browser attach ours; what such a page cannot forge is Origin,
/// Sec-Fetch-Site or Host. Bearer requests need none of this: a browser never adds an
/// Authorization header on its own.
struct RequestGuard {
    let allowedOrigins: [String]
    let bindHost: String
    let port: Int

    /// Why a request was refused: status, error code, message.
    struct Refusal: Error {
        let status: Int
        let code: String
        let message: String
    }

    /// Host header values (lowercased authorities) this hub answers cookie requests for:
    /// the loopback names on its port, the address it is bound to, and the host of every
    /// allowed origin (how a hub behind a name or proxy is told its name).
    var ownAuthorities: Set<String> {
        var names: Set<String> = ["127.0.0.1", "localhost", "[::1]"]
        let bind = bindHost.lowercased()
        if !["", "0.0.0.0", "::", "[::]", "*"].contains(bind) { names.insert(bind.contains(":") && !bind.hasPrefix("[") ? "[\(bind)]" : bind) }
        var out = Set(names.map { "\($0):\(port)" })
        if port == 80 { out.formUnion(names) }
        for origin in allowedOrigins {
            guard let url = URL(string: origin), let host = url.host?.lowercased() else { continue }
            let name = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
            if let p = url.port { out.insert("\(name):\(p)") } else {
                out.insert(name)
                out.insert("\(name):\(url.scheme == "https" ? 443 : 80)")
            }
        }
        return out
    }

    /// Host must name this hub (DNS rebinding: a foreign name resolving to us).
    func checkHost(_ host: String?) -> Refusal? {
        guard let host = host?.lowercased(), ownAuthorities.contains(host) else {
            return Refusal(status: 421, code: "misdirected_request",
                           message: "Host \((host ?? "").prefix(100)) is not this hub; a cookie is only honoured for the hub's own names (see --allowed-origin)")
        }
        return nil
    }

    /// An unsafe cookie request (and login) must come from the hub's own pages or an
    /// allowed origin: Origin equal to one of them, or, without Origin,
    /// `Sec-Fetch-Site: same-origin`.
    func checkOrigin(origin: String?, fetchSite: String?, host: String?) -> Refusal? {
        if let origin {
            if allowedOrigins.contains(origin) { return nil }
            if let host = host?.lowercased(), ownAuthorities.contains(host),
               origin.lowercased() == "http://\(host)" || origin.lowercased() == "https://\(host)" {
                return nil
            }
            return Refusal(status: 403, code: "origin_not_allowed",
                           message: "origin \(origin.prefix(100)) may not send this request with the session cookie")
        }
        if fetchSite?.lowercased() == "same-origin" { return nil }
        return Refusal(status: 403, code: "origin_required",
                       message: "a request with the session cookie must carry the hub's Origin; scripts use Authorization: Bearer")
    }

    /// Host, then (for unsafe methods) Origin: everything a cookie request must pass.
    func checkCookieRequest(method: HTTPMethod, header: (String) -> String?) -> Refusal? {
        if let refusal = checkHost(header("host")) { return refusal }
        guard Self.isUnsafe(method) else { return nil }
        return checkOrigin(origin: header("origin"), fetchSite: header("sec-fetch-site"), host: header("host"))
    }

    static func isUnsafe(_ method: HTTPMethod) -> Bool {
        method != .GET && method != .HEAD && method != .OPTIONS
    }

    /// A body is JSON only when it says so: `application/json`, parameters allowed. A
    /// text/plain or form body is what a cross-site page can send without a preflight.
    static func checkJSONBody(_ body: [UInt8], contentType: String?) -> Refusal? {
        guard !body.isEmpty else { return nil }
        let type = contentType?.split(separator: ";", maxSplits: 1).first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            return Refusal(status: 415, code: "unsupported_media_type",
                           message: "send the body as JSON with Content-Type: application/json")
        }
        return nil
    }
}
