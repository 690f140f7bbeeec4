import Foundation
import HubCore

/// A file under the static root that may be served.
public struct ResolvedFile: Sendable, Equatable {
    /// Real (symlink-free) location on disk.
    public let path: String
    public let contentType: String
    public let cacheControl: String
    /// True when this is the SPA fallback (`index.html` for an unknown extension-less path).
    public let isFallback: Bool
}

/// Maps URL paths to files under a root directory, refusing anything that could escape
/// it: `..`/`.` segments (also percent-encoded), encoded slashes, NUL, backslashes,
/// dot-files, and any file whose real path (symlinks resolved) is outside the real root.
/// Pure value type; usable from any thread.
public struct StaticFiles: Sendable {
    /// The real path of the root directory (nil if it does not exist).
    public let rootPath: String?
    /// Serve `index.html` for extension-less paths that do not exist (SPA routes such as
    /// `/admin/automation`).
    public var spaFallback: Bool

    /// `root` is resolved with realpath once, here.
    public init(root: URL, spaFallback: Bool = true) {
        self.rootPath = StaticFiles.realPath(root.path)
        self.spaFallback = spaFallback
    }

    /// Resolves a raw request path as sent on the wire (percent-encoded, may carry a
    /// `?query`/`#fragment`, which are ignored).
    public func resolve(path rawPath: String) -> ResolvedFile? {
        var raw = Substring(rawPath)
        if let cut = raw.firstIndex(where: { $0 == "?" || $0 == "#" }) { raw = raw[..<cut] }
        var segments: [String] = []
        for piece in raw.split(separator: "/", omittingEmptySubsequences: true) {
            guard let decoded = StaticFiles.percentDecode(piece) else { return nil }
            // An encoded "/" or "\" would smuggle a separator past the split above.
            if decoded.contains("/") { return nil }
            segments.append(decoded)
        }
        return resolve(segments: segments)
    }

    /// Resolves an already-decoded path, e.g. `HTTPRequest.path` (lws decodes and collapses
    /// dot segments before we see it). No further percent-decoding happens.
    public func resolve(decodedPath: String) -> ResolvedFile? {
        resolve(segments: decodedPath.split(separator: "/", omittingEmptySubsequences: true).map(String.init))
    }

    /// Any thread. Checks segments, resolves symlinks, confines to the root.
    private func resolve(segments: [String]) -> ResolvedFile? {
        guard let root = rootPath else { return nil }
        for segment in segments {
            if segment.hasPrefix(".") { return nil }          // ".", "..", dot-files
            if segment.contains("\\") || segment.contains("\0") { return nil }
            if segment.unicodeScalars.contains(where: { $0.value < 0x20 }) { return nil }
        }
        var candidate = root
        for segment in segments { candidate += "/" + segment }

        var isFallback = false
        var requestedName = segments.last ?? "index.html"
        var real = StaticFiles.realPath(candidate)
        if let r = real, StaticFiles.isDirectory(r) {
            candidate = r + "/index.html"
            requestedName = "index.html"
            real = StaticFiles.realPath(candidate)
        }
        if real == nil {
            guard spaFallback, !(segments.last ?? "").contains(".") else { return nil }
            real = StaticFiles.realPath(root + "/index.html")
            requestedName = "index.html"
            isFallback = true
        }
        guard let resolved = real, resolved.hasPrefix(root + "/"), StaticFiles.isRegularFile(resolved) else {
            return nil
        }
        let ext = (requestedName as NSString).pathExtension.lowercased()
        let type = StaticFiles.contentType(forExtension: ext)
        let cache = ext == "html" ? "no-cache" : "public, max-age=3600"
        return ResolvedFile(path: resolved, contentType: type, cacheControl: cache, isFallback: isFallback)
    }

    /// MIME type by extension (lowercase, no dot).
    public static func contentType(forExtension ext: String) -> String {
        switch ext {
        case "html", "htm": return "text/html; charset=utf-8"
        case "js", "mjs": return "text/javascript; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "json", "map": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "ico": return "image/x-icon"
        case "txt": return "text/plain; charset=utf-8"
        case "woff2": return "font/woff2"
        case "woff": return "font/woff"
        case "webmanifest": return "application/manifest+json"
        default: return "application/octet-stream"
        }
    }

    /// Strict percent-decoding; nil on a malformed escape or invalid UTF-8.
    static func percentDecode(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(s.utf8.count)
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            if c == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let hi = HexDigit.value(h), let lo = HexDigit.value(l) else { return nil }
                bytes.append(hi << 4 | lo)
            } else {
                bytes.append(c)
            }
        }
        return String(bytes: bytes, encoding: .utf8)
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }
}

/// Serves `StaticFiles` through an `HTTPResponder` (files are small: read whole).
public struct StaticFileResponder: Sendable {
    public let files: StaticFiles
    /// Added to every file response (e.g. Content-Security-Policy).
    public var extraHeaders: [(String, String)]

    /// `extraHeaders` are added to every file response.
    public init(files: StaticFiles, extraHeaders: [(String, String)] = []) {
        self.files = files
        self.extraHeaders = extraHeaders
    }

    /// Answers a GET/HEAD for a static file. Returns false (without responding) when the
    /// path does not resolve, so the caller can answer 404 or route elsewhere.
    @discardableResult
    public func respond(to request: HTTPRequest, with responder: HTTPResponder) -> Bool {
        guard request.method == .GET || request.method == .HEAD,
              let file = files.resolve(decodedPath: request.path) else { return false }
        serve(file, with: responder)
        return true
    }

    /// Reads `file` and responds 200 with its content type and cache policy (404 JSON if
    /// it vanished meanwhile).
    public func serve(_ file: ResolvedFile, with responder: HTTPResponder) {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            responder.respondError(status: 404, code: "not_found", message: "not found")
            return
        }
        responder.respond(
            status: 200,
            headers: [("Content-Type", file.contentType), ("Cache-Control", file.cacheControl)] + extraHeaders,
            body: [UInt8](data))
    }
}
