import Foundation
import HubCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A provider speaking the JSON contract of docs/PROVIDERS.md over HTTP.
///
/// Calls are synchronous (the engine runs each run on its own thread): each request waits on a
/// semaphore for at most `timeout`, then is cancelled and reported `unavailable`. Status codes
/// map to item errors (the call was answered and is paid for: skip the item) or to
/// unavailability (not charged: the engine pauses the run and retries); see `classify`.
// @unchecked Sendable: immutable configuration and session; in-flight transfers are guarded by Transfers' lock.
public final class HTTPProvider: CollectionProvider, @unchecked Sendable {
    /// Where the API is and how to call it.
    public struct Config: Sendable {
        /// The API root; paths of the contract are appended to it (`https://host/v1` →
        /// `https://host/v1/amazon/products/{asin}`).
        public var baseURL: URL
        /// Sent as `Authorization: Bearer <apiKey>` when set.
        public var apiKey: String?
        /// The whole request (connect, send, headers, body) must finish within this; at most a
        /// third of the engine's lease (10 s by default), so a call always ends inside the lease.
        public var timeout: Duration = .seconds(3)
        /// Larger answers are refused (`bad_response` for a 2xx) without being read further.
        public var maxResponseBytes = 1 << 20

        public init(baseURL: URL, apiKey: String? = nil, timeout: Duration = .seconds(3)) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.timeout = timeout
        }
    }

    public let config: Config
    private let session: URLSession
    private let transfers: Transfers

    public init(config: Config) {
        var config = config
        if config.timeout <= .zero { config.timeout = .seconds(3) }
        self.config = config
        let c = URLSessionConfiguration.ephemeral
        // The deadline is the semaphore wait in `get`, over the whole request; URLSession's own
        // timers (an idle timeout between bytes) are only a backstop, a second later.
        let backstop = (Self.interval(config.timeout) + 1).rounded(.up)
        c.timeoutIntervalForRequest = backstop
        c.timeoutIntervalForResource = backstop
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        c.urlCache = nil
        c.httpCookieStorage = nil
        c.httpShouldSetCookies = false
        transfers = Transfers(maxBytes: config.maxResponseBytes)
        session = URLSession(configuration: c, delegate: transfers, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    public var callTimeout: Duration? { config.timeout }

    // MARK: The four calls

    public func listProducts(category: Category, cursor: Int, limit: Int) throws(ProviderError) -> (products: [ProductRef], next: Int?) {
        let body = try get(["amazon", "categories", category.id, "products"], query: [("cursor", String(cursor)), ("limit", String(limit))])
        let page = try Self.decodeListing(body, cursor: cursor)
        return (page.asins.map { ProductRef(asin: $0, categoryID: category.id) }, page.next)
    }

    public func fetchProduct(_ ref: ProductRef) throws(ProviderError) -> Product {
        try Self.decodeProduct(try get(["amazon", "products", ref.asin]), asin: ref.asin)
    }

    public func discoverSellers(for product: ProductRef, category: Category) throws(ProviderError) -> [SellerRef] {
        try Self.decodeSellers(try get(["ebay", "products", product.asin, "sellers"]))
    }

    public func fetchSeller(_ ref: SellerRef) throws(ProviderError) -> SellerProfile {
        try Self.decodeSeller(try get(["ebay", "sellers", ref.platformID]), platformID: ref.platformID)
    }

    // MARK: Requests

    /// The URL of `segments` under the base: each segment percent-encoded as data (ids are
    /// untrusted: `/`, `?`, `#`, `%`, spaces and dot segments cannot change the endpoint).
    func url(_ segments: [String], query: [(String, String)] = []) throws(ProviderError) -> URL {
        guard !segments.contains(where: \.isEmpty) else { throw .item(code: "invalid", message: "an empty id cannot be requested") }
        guard var components = URLComponents(url: config.baseURL, resolvingAgainstBaseURL: true) else {
            throw .unavailable(retryAfter: nil, reason: "the provider URL \(config.baseURL) is not usable")
        }
        var base = components.percentEncodedPath
        while base.hasSuffix("/") { base.removeLast() }
        components.percentEncodedPath = base + "/" + segments.map(Self.encodeSegment).joined(separator: "/")
        components.percentEncodedQuery = query.isEmpty ? nil : query.map { "\(Self.encodeSegment($0.0))=\(Self.encodeSegment($0.1))" }.joined(separator: "&")
        components.fragment = nil
        guard let url = components.url else {
            throw .unavailable(retryAfter: nil, reason: "the provider URL \(config.baseURL) is not usable")
        }
        return url
    }

    /// Unreserved characters (RFC 3986) stay, everything else is %XX of its UTF-8 bytes; a
    /// segment made only of dots is encoded whole so no resolver treats it as `.` or `..`.
    static func encodeSegment(_ s: String) -> String {
        if s.allSatisfy({ $0 == "." }) { return String(repeating: "%2E", count: s.count) }
        var out = ""
        for byte in s.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// One GET, bounded by `config.timeout`; answers the 2xx body or throws per `classify`.
    func get(_ segments: [String], query: [(String, String)] = []) throws(ProviderError) -> Data {
        let url = try url(segments, query: query)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: session.configuration.timeoutIntervalForRequest)
        request.httpMethod = "GET"
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key = config.apiKey, !key.isEmpty { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        let endpoint = "GET /" + segments.map(Self.encodeSegment).joined(separator: "/")

        let task = session.dataTask(with: request)
        let transfer = transfers.begin(task)
        task.resume()
        guard transfer.done.wait(timeout: .now() + Self.interval(config.timeout)) == .success else {
            task.cancel()
            transfers.end(task)
            throw .unavailable(retryAfter: nil, reason: "no answer to \(endpoint) within \(Self.interval(config.timeout)) s")
        }
        transfers.end(task)
        let outcome = transfer.outcome()
        guard let response = outcome.response else {
            let reason = outcome.error.map { ($0 as NSError).localizedDescription } ?? "no response"
            throw .unavailable(retryAfter: nil, reason: "\(endpoint) failed: \(reason)")
        }
        return try Self.classify(status: response.statusCode, retryAfter: response.value(forHTTPHeaderField: "Retry-After"),
                                 body: outcome.body, tooLarge: outcome.tooLarge, complete: outcome.error == nil,
                                 maxBytes: config.maxResponseBytes, endpoint: endpoint)
    }

    /// The status policy of docs/PROVIDERS.md. Returns the body of a complete 2xx answer.
    static func classify(status: Int, retryAfter: String?, body: Data, tooLarge: Bool, complete: Bool, maxBytes: Int,
                         endpoint: String, now: Date = Date()) throws(ProviderError) -> Data {
        switch status {
        case 200..<300:
            // Answered, hence paid for: an unusable answer fails the item rather than retrying it.
            if tooLarge { throw .item(code: "bad_response", message: "\(endpoint): answer over \(maxBytes) bytes") }
            if !complete { throw .unavailable(retryAfter: nil, reason: "\(endpoint): the answer was cut off") }
            return body
        case 404: throw .item(code: "not_found", message: "HTTP 404 for \(endpoint)" + detail(body))
        case 410: throw .item(code: "gone", message: "HTTP 410 for \(endpoint)" + detail(body))
        case 422: throw .item(code: "invalid", message: "HTTP 422 for \(endpoint)" + detail(body))
        case 429:
            throw .unavailable(retryAfter: retryAfter.flatMap { parseRetryAfter($0, now: now) }, reason: "HTTP 429 (rate limited) for \(endpoint)")
        default:
            // 5xx is the provider's trouble. 3xx (redirects are not followed), 400, 401, 403 and
            // the other 4xx are a misconfiguration (base URL, key, contract version): failing
            // every item would spend the budget on nothing, so the run pauses for an operator.
            throw .unavailable(retryAfter: nil, reason: "HTTP \(status) for \(endpoint)" + detail(body))
        }
    }

    /// `Retry-After` as delta-seconds or an HTTP date; nil when unreadable.
    static func parseRetryAfter(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) {
            // Absurd values are clamped here; the engine's Backoff caps them again at its maximum.
            return .seconds(Int(text.prefix(9)) ?? 0)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, Int((date.timeIntervalSince(now) * 1000).rounded(.up))))
    }

    static func interval(_ d: Duration) -> TimeInterval {
        let c = d.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    // MARK: Transfers (URLSession delegate)

    /// One request's state, filled by the delegate queue and read after `done`.
    // @unchecked Sendable: filled by the delegate queue under its lock, read after `done` is signalled.
    final class Transfer: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var response: HTTPURLResponse?
        private var body = Data()
        private var error: Error?
        private var tooLarge = false
        private var finished = false

        func setResponse(_ r: HTTPURLResponse?) { lock.withLock { response = r } }
        /// Appends unless the cap is crossed; false once it is (the caller cancels the task).
        func append(_ data: Data, max: Int) -> Bool {
            lock.withLock {
                guard !tooLarge else { return false }
                if body.count + data.count > max {
                    tooLarge = true
                    body = Data()
                    return false
                }
                body.append(data)
                return true
            }
        }
        func finish(_ e: Error?) {
            let first: Bool = lock.withLock {
                defer { finished = true }
                if !finished { error = e }
                return !finished
            }
            if first { done.signal() }
        }
        func outcome() -> (response: HTTPURLResponse?, body: Data, error: Error?, tooLarge: Bool) {
            lock.withLock { (response, body, error, tooLarge) }
        }
    }

    // @unchecked Sendable: the task table is guarded by its lock; each Transfer guards its own fields.
    final class Transfers: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let maxBytes: Int
        private let lock = NSLock()
        private var active: [Int: Transfer] = [:]

        init(maxBytes: Int) { self.maxBytes = maxBytes }

        func begin(_ task: URLSessionTask) -> Transfer {
            let t = Transfer()
            lock.withLock { active[task.taskIdentifier] = t }
            return t
        }
        func end(_ task: URLSessionTask) { _ = lock.withLock { active.removeValue(forKey: task.taskIdentifier) } }
        private func transfer(_ task: URLSessionTask) -> Transfer? { lock.withLock { active[task.taskIdentifier] } }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
            let http = response as? HTTPURLResponse
            transfer(dataTask)?.setResponse(http)
            // A declared length over the cap is refused before any of it is read.
            if response.expectedContentLength > Int64(maxBytes) {
                _ = transfer(dataTask)?.append(Data(count: maxBytes + 1), max: maxBytes)
                transfer(dataTask)?.finish(nil)
                completionHandler(.cancel)
                return
            }
            completionHandler(.allow)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            guard let t = transfer(dataTask) else { return dataTask.cancel() }
            if !t.append(data, max: maxBytes) {
                // Over the cap while streaming (chunked or lying Content-Length): stop reading.
                t.finish(nil)
                dataTask.cancel()
            }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            transfer(task)?.finish(error)
        }

        /// Redirects are not followed: the 3xx itself is the answer (and pauses the run), so a
        /// moved API never receives the key on another host behind the operator's back.
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}
