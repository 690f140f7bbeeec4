import Foundation
import HubCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A provider speaking the JSON contract of docs/PROVIDERS.md over HTTP. Every request is
/// bounded by `timeout`; status codes map to item errors (skip the item) or unavailability
/// (pause the run and retry).
public final class HTTPProvider: CollectionProvider, @unchecked Sendable {
    /// Where the API is and how to call it.
    public struct Config: Sendable {
        public var baseURL: URL
        public var apiKey: String?
        public var timeout: Duration = .seconds(10)
        /// Larger answers are refused as bad responses.
        public var maxResponseBytes = 1 << 20
        public init(baseURL: URL, apiKey: String? = nil, timeout: Duration = .seconds(10)) {
            self.baseURL = baseURL
            self.apiKey = apiKey
            self.timeout = timeout
        }
    }

    public let config: Config
    private let session: URLSession

    public init(config: Config) {
        var config = config
        // swift-corelibs URLSession times out at once below one second.
        config.timeout = max(config.timeout, .seconds(1))
        self.config = config
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = config.timeout.seconds
        c.timeoutIntervalForResource = config.timeout.seconds
        c.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: c)
    }

    public func listProducts(category: Category, cursor: Int, limit: Int) throws(ProviderError) -> (products: [ProductRef], next: Int?) {
        let object = try get(["amazon", "categories", category.id, "products"], query: ["cursor": String(cursor), "limit": String(limit)])
        guard let list = object["products"] as? [[String: Any]] else { throw .item(code: "bad_response", message: "products missing") }
        let products = try list.map { (p) throws(ProviderError) -> ProductRef in
            guard let asin = p["asin"] as? String, !asin.isEmpty else { throw .item(code: "bad_response", message: "a product has no asin") }
            return ProductRef(asin: asin, categoryID: category.id)
        }
        return (products, object["next_cursor"] as? Int)
    }

    public func fetchProduct(_ ref: ProductRef) throws(ProviderError) -> Product {
        let o = try get(["amazon", "products", ref.asin])
        guard let title = o["title"] as? String, let price = o["price_cents"] as? Int else {
            throw .item(code: "bad_response", message: "product \(ref.asin) lacks title or price_cents")
        }
        return Product(asin: ref.asin, title: title, priceCents: price)
    }

    public func discoverSellers(for product: ProductRef, category: Category) throws(ProviderError) -> [SellerRef] {
        let o = try get(["ebay", "products", product.asin, "sellers"])
        guard let list = o["sellers"] as? [[String: Any]] else { throw .item(code: "bad_response", message: "sellers missing") }
        return list.compactMap { s in
            guard let id = s["platform_id"] as? String, let name = s["display_name"] as? String else { return nil }
            return SellerRef(platformID: id, displayName: name)
        }
    }

    public func fetchSeller(_ ref: SellerRef) throws(ProviderError) -> SellerProfile {
        let o = try get(["ebay", "sellers", ref.platformID])
        guard let name = o["display_name"] as? String else { throw .item(code: "bad_response", message: "seller lacks display_name") }
        return SellerProfile(platformID: ref.platformID, displayName: name, feedbackScore: o["feedback_score"] as? Int)
    }

    /// GET base/segments… (each segment percent-encoded: ids are untrusted) → JSON object.
    func get(_ segments: [String], query: [String: String] = [:]) throws(ProviderError) -> [String: Any] {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#")
        let path = segments.map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? "" }.joined(separator: "/")
        var base = config.baseURL.absoluteString
        if base.hasSuffix("/") { base.removeLast() }
        var text = base + "/" + path
        if !query.isEmpty {
            text += "?" + query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        }
        guard let url = URL(string: text) else { throw .item(code: "invalid", message: "cannot build a URL for \(segments.last ?? "")") }
        var request = URLRequest(url: url, timeoutInterval: config.timeout.seconds)
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if let key = config.apiKey { request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }

        let box = ResponseBox()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            box.set(data, response as? HTTPURLResponse, error)
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + config.timeout.seconds + 1) == .timedOut {
            task.cancel()
            throw .unavailable(retryAfter: nil, reason: "no answer from \(url.host ?? "the provider") within \(config.timeout)")
        }
        let (data, response, error) = box.get()
        guard let response else {
            throw .unavailable(retryAfter: nil, reason: "request failed: \(error.map { "\($0.localizedDescription)" } ?? "no response")")
        }
        return try Self.interpret(status: response.statusCode, retryAfter: response.value(forHTTPHeaderField: "Retry-After"),
                                  body: data ?? Data(), maxBytes: config.maxResponseBytes)
    }

    /// The status-code policy (docs/PROVIDERS.md).
    static func interpret(status: Int, retryAfter: String?, body: Data, maxBytes: Int) throws(ProviderError) -> [String: Any] {
        switch status {
        case 200..<300:
            guard body.count <= maxBytes else { throw .item(code: "bad_response", message: "response over \(maxBytes) bytes") }
            guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else {
                throw .item(code: "bad_response", message: "response is not a JSON object")
            }
            return object
        case 404: throw .item(code: "not_found", message: "the provider does not know this item")
        case 410: throw .item(code: "gone", message: "the item was removed")
        case 422: throw .item(code: "invalid", message: "the provider refused this item")
        case 429:
            let seconds = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            throw .unavailable(retryAfter: seconds.map { .seconds($0) }, reason: "HTTP 429 rate limited")
        default:
            // 5xx, and 400/401/403 too: a misconfigured key or a changed API should pause the
            // run for an operator, not spend the budget on a string of failures.
            throw .unavailable(retryAfter: nil, reason: "HTTP \(status) from the provider")
        }
    }

    private final class ResponseBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value: (Data?, HTTPURLResponse?, Error?) = (nil, nil, nil)
        func set(_ d: Data?, _ r: HTTPURLResponse?, _ e: Error?) { lock.withLock { value = (d, r, e) } }
        func get() -> (Data?, HTTPURLResponse?, Error?) { lock.withLock { value } }
    }
}
