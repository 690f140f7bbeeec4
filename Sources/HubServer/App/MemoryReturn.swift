import CLibWebSockets
import Foundation

/// Hands freed heap back to the kernel after many clients have left. glibc keeps freed
/// chunks mapped for reuse, so without this a hub's RSS after a mass disconnect stays near
/// its peak for good; trimming runs off the loop because it walks every arena.
final class MemoryReturn {
    /// Closed connections that make a trim worth its cost.
    let threshold: Int
    private var closedAtLastTrim = 0
    private let queue = DispatchQueue(label: "collection-hub.memory-return", qos: .utility)

    init(threshold: Int = 64) { self.threshold = threshold }

    /// Loop thread, every few seconds, with the closed-connection total so far.
    func observe(closedTotal: Int) {
        guard closedTotal - closedAtLastTrim >= threshold else { return }
        closedAtLastTrim = closedTotal
        queue.async { _ = chub_malloc_trim() }
    }
}
