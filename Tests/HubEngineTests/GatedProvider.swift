import Foundation
import HubCore
@testable import HubEngine

/// The simulated provider behind a gate: counts paid calls per item (ASIN or seller id) and
/// holds one chosen paid call (the n-th, counted across every engine using it) until the test
/// opens the gate, so a "slow" call lasts exactly as long as the test wants.
// @unchecked Sendable: the counters are guarded by `lock`; the gate is a semaphore.
final class GatedProvider: CollectionProvider, @unchecked Sendable {
    private let inner: SimulatedProvider
    private let holdCall: Int
    private let gate = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var perItem: [String: Int] = [:]
    private var total = 0
    private var held: String?

    init(_ sim: SimulatedProvider.Config, holdCall: Int) {
        inner = SimulatedProvider(config: sim)
        self.holdCall = holdCall
    }

    /// The item whose paid call is waiting at the gate now.
    var holding: String? { lock.withLock { held } }
    var paidCalls: Int { lock.withLock { total } }
    func paidCalls(for id: String) -> Int { lock.withLock { perItem[id, default: 0] } }
    var mostCallsForOneItem: Int { lock.withLock { perItem.values.max() ?? 0 } }

    /// Lets the held call (and any later one) through.
    func open() { gate.signal() }

    private func paid(_ id: String) {
        let n = lock.withLock { () -> Int in
            total += 1
            perItem[id, default: 0] += 1
            return total
        }
        guard n == holdCall else { return }
        lock.withLock { held = id }
        // Bounded: a test that forgets to open the gate fails instead of hanging.
        _ = gate.wait(timeout: .now() + 120)
        gate.signal()
        lock.withLock { held = nil }
    }

    func listProducts(category: Category, cursor: Int, limit: Int) throws(ProviderError) -> (products: [ProductRef], next: Int?) {
        try inner.listProducts(category: category, cursor: cursor, limit: limit)
    }

    func fetchProduct(_ ref: ProductRef) throws(ProviderError) -> Product {
        paid(ref.asin)
        return try inner.fetchProduct(ref)
    }

    func discoverSellers(for product: ProductRef, category: Category) throws(ProviderError) -> [SellerRef] {
        try inner.discoverSellers(for: product, category: category)
    }

    func fetchSeller(_ ref: SellerRef) throws(ProviderError) -> SellerProfile {
        paid(ref.platformID)
        return try inner.fetchSeller(ref)
    }
}
