/// A running run's best-known total of items: what finished categories produced, the
/// current category with its listing's exact product count, and the plan for the rest.
public enum RunProjection {
    /// `plan` in run order; `stats` by category id; `currentIndex` = plan.count once done.
    public static func expectedItems(plan: [CategoryEstimate], stats: [String: CategoryRunStats], currentIndex: Int) -> Int {
        let unseen = unseenShare(plan: plan, stats: stats, currentIndex: currentIndex)
        var total = 0
        for (index, estimate) in plan.enumerated() {
            let observed = stats[estimate.categoryId]
            if index < currentIndex || observed?.complete == true {
                // Finished (or its listing was refused: nothing observed, nothing to come).
                total += observed?.items ?? 0
            } else if index == currentIndex, let observed, observed.listed > 0 || observed.productsFetched > 0 {
                // The listing is known: products are exact; sellers are projected, and
                // never fewer than already paid for.
                total += max(observed.listed, observed.productsFetched) + max(sellers(estimate, observed), observed.sellersPaid)
            } else if estimate.basedOnRuns == 0 {
                // A catalog figure pays every seller; this run's finished categories show
                // how many of them it has already paid for.
                total += estimate.amazonCalls + Int((Double(estimate.ebayCalls) * unseen).rounded())
            } else {
                total += estimate.items
            }
        }
        return total
    }

    /// The chance that a seller was not paid for yet by this run's finished categories,
    /// from the pools their repeats imply (as CostEstimator does across categories).
    static func unseenShare(plan: [CategoryEstimate], stats: [String: CategoryRunStats], currentIndex: Int) -> Double {
        let finished = plan.prefix(min(currentIndex, plan.count)).compactMap { stats[$0.categoryId] }.filter { $0.complete && !$0.resumed }
        let paid = Double(finished.reduce(0) { $0 + $1.sellersPaid })
        var unseen = 1.0
        for s in finished {
            guard let pool = SellerPool.poolSize(draws: s.sellersDiscovered, distinct: s.sellersDistinct) else { continue }
            let inPool = min(1, pool / max(paid, pool))
            unseen *= 1 - inPool * SellerPool.coverage(draws: Double(s.sellersDiscovered), poolSize: pool)
        }
        return unseen
    }

    /// Paid sellers the current category will end with. A learned plan keeps its share per
    /// product. A catalog figure assumes no seller repeats, so once repeats show in this
    /// category the pool they imply projects the rest of it instead.
    static func sellers(_ estimate: CategoryEstimate, _ observed: CategoryRunStats) -> Int {
        let perProduct = estimate.amazonCalls > 0 ? Double(estimate.ebayCalls) / Double(estimate.amazonCalls) : 0
        let planned = perProduct * Double(observed.listed)
        let fetchedOK = observed.productsFetched - observed.productsFailed
        guard estimate.basedOnRuns == 0, !observed.resumed, fetchedOK >= 5, observed.sellersDistinct > 0,
              let pool = SellerPool.poolSize(draws: observed.sellersDiscovered, distinct: observed.sellersDistinct)
        else { return Int(planned.rounded()) }
        let draws = Double(observed.sellersDiscovered) / Double(observed.productsFetched) * Double(observed.listed)
        let paidShare = Double(observed.sellersPaid) / Double(observed.sellersDistinct)
        return Int((SellerPool.expectedDistinct(draws: draws, poolSize: pool) * paidShare).rounded())
    }
}

/// Progress as shown: items done over the best-known total, in tenths of a percent.
public enum RunProgress {
    /// Never below `previous`: a total that grows must not send the bar backwards.
    public static func permille(done: Int, expected: Int, previous: Int = 0) -> Int {
        let now = expected > 0 ? min(1000, done * 1000 / expected) : 0
        return max(previous, now)
    }

    /// Seconds to go at `itemsPerSecond`; nil without a rate.
    public static func etaSeconds(done: Int, expected: Int, itemsPerSecond: Double?) -> Int? {
        guard let rate = itemsPerSecond, rate > 0 else { return nil }
        return Int((Double(max(0, expected - done)) / rate).rounded(.up))
    }
}

/// Items per second over a sliding window of recent commits, so pauses and slow spells
/// age out instead of dragging the rate down for the rest of the run.
public struct RateMeter: Sendable, Equatable {
    public let window: Double
    private var samples: [(seconds: Double, done: Int)] = []

    public init(window: Double = 30) { self.window = window }

    /// Records the count of items done at `seconds` (any monotonic clock).
    public mutating func record(done: Int, at seconds: Double) {
        samples.append((seconds, done))
        // Keep one sample older than the window as the rate's starting point.
        while samples.count > 2, samples[1].seconds <= seconds - window { samples.removeFirst() }
    }

    /// nil until two samples a moment apart exist.
    public var itemsPerSecond: Double? {
        guard let first = samples.first, let last = samples.last, last.seconds - first.seconds >= 0.05 else { return nil }
        return Double(last.done - first.done) / (last.seconds - first.seconds)
    }

    public static func == (a: RateMeter, b: RateMeter) -> Bool {
        a.window == b.window && a.samples.map(\.seconds) == b.samples.map(\.seconds) && a.samples.map(\.done) == b.samples.map(\.done)
    }
}
