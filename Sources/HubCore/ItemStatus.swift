/// What an item is: a product from Amazon or a seller found on eBay.
public enum ItemType: String, Sendable, Codable, CaseIterable {
    case amazonProduct = "amazon_product"
    case ebaySeller = "ebay_seller"
}

/// An item's progress (the seed's CHECK constraint values).
public enum ItemStatus: String, Sendable, Codable, CaseIterable {
    case pending, processing, completed, failed, skipped

    public var isFinal: Bool { self == .completed || self == .failed || self == .skipped }

    /// pending → processing → completed | failed | skipped; pending → skipped.
    public func canMove(to next: ItemStatus) -> Bool {
        switch (self, next) {
        case (.pending, .processing), (.pending, .skipped): return true
        case (.processing, .completed), (.processing, .failed), (.processing, .skipped): return true
        default: return false
        }
    }
}
