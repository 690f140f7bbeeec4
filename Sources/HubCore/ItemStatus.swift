/// An item's progress (the seed's CHECK constraint values).
public enum ItemStatus: String, Sendable, Codable, CaseIterable {
    case pending, processing, completed, failed, skipped

    /// Completed, failed and skipped items are never touched again.
    public var isFinal: Bool { self == .completed || self == .failed || self == .skipped }

    /// Whether an item may go from this status to `next` (see `ItemLifecycle`).
    public func canMove(to next: ItemStatus) -> Bool { ItemLifecycle.canMove(from: self, to: next) }
}
