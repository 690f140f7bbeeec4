/// The item state machine: pending → processing → completed | failed | skipped, and
/// pending → skipped (a run that stops leaves its unstarted items skipped).
public enum ItemLifecycle {
    public static func canMove(from current: ItemStatus, to next: ItemStatus) -> Bool {
        switch (current, next) {
        case (.pending, .processing), (.pending, .skipped): return true
        case (.processing, .completed), (.processing, .failed), (.processing, .skipped): return true
        // A failed item is not retried: its cost is already counted.
        default: return false
        }
    }

    /// The statuses an item may reach `target` from, for a guarded UPDATE.
    public static func allowedSourceStatuses(to target: ItemStatus) -> [ItemStatus] {
        ItemStatus.allCases.filter { canMove(from: $0, to: target) }
    }
}
