import Foundation
import HubCore

/// An offline provider, deterministic from a seed, so `make run` and the tests work without
/// network: each category has exactly its expected product count; sellers come from a
/// pool of names written in case, spacing and full-width variants; latency, item failures,
/// outages and 429 bursts are configurable by paid-call number.
// @unchecked Sendable: the call counter is guarded by its lock; the configuration is immutable.
public final class SimulatedProvider: CollectionProvider, @unchecked Sendable {
    /// The simulation's knobs.
    public struct Config: Sendable {
        public var seed: UInt64 = 1
        /// Sleep per paid call.
        public var latency: Duration = .milliseconds(20)
        /// Chance that a paid call fails for its item (0…1).
        public var failureRate: Double = 0.02
        /// Paid calls (1-based numbers, counted across the process) that answer "unavailable".
        public var outageCalls: [ClosedRange<Int>] = []
        /// Paid calls that answer 429 with this Retry-After.
        public var rateLimitCalls: [ClosedRange<Int>] = []
        public var rateLimitRetryAfter: Duration = .seconds(1)
        public init() {}
    }

    public let config: Config
    private let lock = NSLock()
    private var calls = 0

    public init(config: Config = Config()) { self.config = config }

    /// Paid calls answered or refused so far.
    public var callCount: Int { lock.withLock { calls } }

    public func listProducts(category: Category, cursor: Int, limit: Int) throws(ProviderError) -> (products: [ProductRef], next: Int?) {
        let end = min(category.expectedProducts, cursor + limit)
        let products = (cursor..<max(cursor, end)).map { ProductRef(asin: asin(category.id, $0), categoryID: category.id) }
        return (products, end < category.expectedProducts ? end : nil)
    }

    public func fetchProduct(_ ref: ProductRef) throws(ProviderError) -> Product {
        let n = try paidCall()
        if fails(n, ref.asin) { throw .item(code: "product_unavailable", message: "product \(ref.asin) is no longer listed") }
        let h = hash(ref.asin)
        return Product(asin: ref.asin, title: Self.title(categoryID: ref.categoryID, hash: h, asin: ref.asin),
                       priceCents: 499 + Int((h >> 16) % 20000))
    }

    /// A title from the category's own words, so a demo feed reads plausibly ("Wireless
    /// Headphones" under Electronics, never "Wireless Novel"); the same ASIN always gets the
    /// same title. Unknown categories use neutral words.
    static func title(categoryID: String, hash h: UInt64, asin: String) -> String {
        let words = titleWords[categoryID] ?? (["Classic", "Compact", "Premium", "Everyday"], ["Item", "Set", "Kit", "Bundle"])
        let adjective = words.adjectives[Int(h % UInt64(words.adjectives.count))]
        let noun = words.nouns[Int((h >> 8) % UInt64(words.nouns.count))]
        return "\(adjective) \(noun) \(asin.suffix(4))"
    }

    /// Adjectives and nouns per category id of migrations/005_categories_seed.sql.
    static let titleWords: [String: (adjectives: [String], nouns: [String])] = [
        "electronics": (["Wireless", "Bluetooth", "Portable", "Smart", "USB-C", "Noise-Cancelling"],
                        ["Headphones", "Speaker", "Charger", "Webcam", "Keyboard", "Power Bank", "Smartwatch"]),
        "home-kitchen": (["Stainless", "Non-Stick", "Electric", "Ceramic", "Bamboo", "Glass"],
                         ["Kettle", "Frying Pan", "Cutting Board", "Toaster", "Storage Jars", "Knife Set", "Blender"]),
        "toys-games": (["Classic", "Wooden", "Magnetic", "Family", "Remote-Control", "Glow-in-the-Dark"],
                       ["Puzzle", "Board Game", "Building Blocks", "Card Game", "Race Car", "Plush Bear", "Kite"]),
        "books": (["Illustrated", "Paperback", "Hardcover", "Collected", "Annotated", "Pocket"],
                  ["Novel", "Cookbook", "Field Guide", "Poetry Anthology", "Biography", "Atlas", "Short Stories"]),
        "sports-outdoors": (["Lightweight", "Waterproof", "Insulated", "Adjustable", "Foldable", "Trail"],
                            ["Backpack", "Tent", "Yoga Mat", "Water Bottle", "Hiking Poles", "Dumbbells", "Sleeping Bag"]),
        "beauty": (["Hydrating", "Vitamin C", "Fragrance-Free", "Organic", "Mineral", "Overnight"],
                   ["Serum", "Face Cream", "Lip Balm", "Shampoo", "Sunscreen", "Cleanser", "Hair Mask"]),
        "collectibles": (["Vintage", "Limited Edition", "Signed", "Rare", "Mint-Condition", "Retro"],
                         ["Action Figure", "Trading Card", "Coin Set", "Vinyl Record", "Model Car", "Stamp Album", "Comic Book"]),
        "tools": (["Cordless", "Heavy-Duty", "Compact", "Precision", "Magnetic", "Adjustable"],
                  ["Drill", "Screwdriver Set", "Tape Measure", "Wrench", "Stud Finder", "Level", "Work Light"]),
    ]

    public func discoverSellers(for product: ProductRef, category: Category) throws(ProviderError) -> [SellerRef] {
        let h = hash(product.asin + "sellers")
        return (0..<category.expectedSellersPerProduct).map { i in
            let pick = Int((h >> UInt64(i * 7)) % UInt64(Self.names.count * 3))
            let base = Self.names[pick % Self.names.count]
            let variant = pick / Self.names.count
            // Variants are distinct eBay accounts whose names normalize alike: dedup work.
            let display: String
            switch variant {
            case 0: display = base
            case 1: display = "  " + base.uppercased().replacingOccurrences(of: " ", with: "  ") + " "
            default: display = Self.fullWidth(base)
            }
            return SellerRef(platformID: "ebay-\(base.lowercased().replacingOccurrences(of: " ", with: "-"))-\(variant)", displayName: display)
        }
    }

    public func fetchSeller(_ ref: SellerRef) throws(ProviderError) -> SellerProfile {
        let n = try paidCall()
        if fails(n, ref.platformID) { throw .item(code: "seller_private", message: "seller \(ref.platformID) hides its profile") }
        return SellerProfile(platformID: ref.platformID, displayName: ref.displayName, feedbackScore: Int(hash(ref.platformID) % 5000))
    }

    /// Counts the call, sleeps the latency, and applies outage and 429 windows.
    private func paidCall() throws(ProviderError) -> Int {
        let n = lock.withLock { calls += 1; return calls }
        if config.latency > .zero { Thread.sleep(forTimeInterval: config.latency.seconds) }
        if config.outageCalls.contains(where: { $0.contains(n) }) {
            throw .unavailable(retryAfter: nil, reason: "HTTP 503 from the simulated provider")
        }
        if config.rateLimitCalls.contains(where: { $0.contains(n) }) {
            throw .unavailable(retryAfter: config.rateLimitRetryAfter, reason: "HTTP 429 from the simulated provider")
        }
        return n
    }

    private func fails(_ call: Int, _ key: String) -> Bool {
        guard config.failureRate > 0 else { return false }
        return Double(hash(key) % 10_000) / 10_000 < config.failureRate
    }

    private func asin(_ category: String, _ index: Int) -> String {
        let h = hash("\(category)#\(index)")
        let alphabet = Array("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ")
        var s = "B0"
        var v = h
        for _ in 0..<8 {
            s.append(alphabet[Int(v % UInt64(alphabet.count))])
            v /= UInt64(alphabet.count)
        }
        return s
    }

    /// FNV-1a over the seed and the key: stable across processes (unlike Hasher).
    private func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ config.seed
        for b in key.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }

    private static func fullWidth(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { c -> Unicode.Scalar in
            if c == " " { return "\u{3000}" }
            if c.value >= 0x21 && c.value <= 0x7E { return Unicode.Scalar(c.value + 0xFEE0)! }
            return c
        }))
    }

    static let names = [
        "Seller ABC", "Bargain Barn", "Gadget Galaxy", "Retro Finds", "Toy Chest", "Book Nook", "Kitchen Kings",
        "Outdoor Outlet", "Beauty Bay", "Tool Time", "Collectors Corner", "Deal Depot", "Vintage Vault", "Smart Shop",
        "Prime Picks", "Budget Buys", "Happy Hauls", "Quick Quality", "Second Chance", "Top Shelf", "Urban Outpost",
        "Value Village", "Wise Wares", "Zen Goods", "Maple Market", "River Resale", "Summit Supply", "Harbor Hub",
    ]
}
