import Foundation

/// The occupancy math behind seller deduplication: a product's sellers are draws from a
/// category's pool of sellers, and a seller already seen in the run is not paid again, so
/// paid seller calls grow like the distinct values of repeated draws, not like the draws.
public enum SellerPool {
    /// Expected distinct sellers after `draws` draws from a pool of `size` (nil: a pool so
    /// large that no seller repeats, so every draw is new).
    public static func expectedDistinct(draws: Double, poolSize size: Double?) -> Double {
        guard draws > 0 else { return 0 }
        guard let n = size, n >= 1 else { return draws }
        return n * (1 - pow(1 - 1 / n, draws))
    }

    /// The share of the pool seen after `draws` draws (0 for an unbounded pool: seeing a
    /// few of infinitely many sellers covers none of them).
    public static func coverage(draws: Double, poolSize size: Double?) -> Double {
        guard let n = size, n >= 1 else { return 0 }
        return expectedDistinct(draws: draws, poolSize: n) / n
    }

    /// The pool size under which `draws` draws are expected to give `distinct` sellers
    /// (the inverse of `expectedDistinct`); nil when nothing repeated, so no bound shows.
    public static func poolSize(draws: Int, distinct: Int) -> Double? {
        guard distinct > 0, draws > distinct else { return nil }
        let t = Double(draws), d = Double(distinct)
        // expectedDistinct grows with the pool size: from `distinct` draws' worth at a pool
        // of `distinct` towards `draws` as the pool grows, so bisection finds the size.
        var low = d, high = d * 2
        while expectedDistinct(draws: t, poolSize: high) < d {
            high *= 2
            if high > 1e9 { return nil }
        }
        for _ in 0..<100 {
            let mid = (low + high) / 2
            if expectedDistinct(draws: t, poolSize: mid) < d { low = mid } else { high = mid }
        }
        return (low + high) / 2
    }
}
