import Foundation
import HubCore

/// A product as listed in a category (listing is free; fetching it is the paid call).
public struct ProductRef: Sendable, Equatable {
    public let asin: String
    public let categoryID: String
    public init(asin: String, categoryID: String) {
        self.asin = asin
        self.categoryID = categoryID
    }
}

/// What the paid Amazon call returns.
public struct Product: Sendable, Equatable {
    public let asin: String
    public let title: String
    public let priceCents: Int
    public init(asin: String, title: String, priceCents: Int) {
        self.asin = asin
        self.title = title
        self.priceCents = priceCents
    }
}

/// A seller found offering a product (discovery is free; the profile is the paid call).
public struct SellerRef: Sendable, Equatable {
    public let platformID: String
    public let displayName: String
    public init(platformID: String, displayName: String) {
        self.platformID = platformID
        self.displayName = displayName
    }
}

/// What the paid eBay call returns.
public struct SellerProfile: Sendable, Equatable {
    public let platformID: String
    public let displayName: String
    public let feedbackScore: Int?
    public init(platformID: String, displayName: String, feedbackScore: Int?) {
        self.platformID = platformID
        self.displayName = displayName
        self.feedbackScore = feedbackScore
    }
}

/// How a provider call failed. `item`: this item is bad (the call was answered, so it is
/// paid for), skip it. `unavailable`: the provider is down or rate limiting (5xx, 429,
/// timeout; not charged): pause the run and retry.
public enum ProviderError: Error, Sendable, Equatable {
    case item(code: String, message: String)
    case unavailable(retryAfter: Duration?, reason: String)
}

/// The Amazon and eBay APIs as the engine needs them.
public protocol CollectionProvider: Sendable {
    /// Lists a category's products from `cursor` (an offset); nil `next` at the end.
    func listProducts(category: Category, cursor: Int, limit: Int) throws(ProviderError) -> (products: [ProductRef], next: Int?)
    /// The paid Amazon product call.
    func fetchProduct(_ ref: ProductRef) throws(ProviderError) -> Product
    /// The sellers offering a product, in a stable order.
    func discoverSellers(for product: ProductRef, category: Category) throws(ProviderError) -> [SellerRef]
    /// The paid eBay seller call.
    func fetchSeller(_ ref: SellerRef) throws(ProviderError) -> SellerProfile
    /// The longest one call can take before it is abandoned as `unavailable`; nil when the
    /// provider does not bound its calls. The engine starts a paid call only while the lease
    /// it holds outlasts this.
    var callTimeout: Duration? { get }
}

extension CollectionProvider {
    public var callTimeout: Duration? { nil }
}
