import Foundation

/// Builds estimates: one Amazon call per product and one eBay call per seller the run has
/// not seen yet. With history a category's figures are learned (listing size, failures,
/// sellers per product, seller pool); without, the catalog's products × sellers per product
/// is used, an upper bound since it assumes no seller repeats.
public enum CostEstimator {
    public static func estimate(categories: [Category], unitCosts: UnitCosts, history: EstimateHistory = .none) -> CostEstimate {
        // Chance that a given seller of the org was already paid for by an earlier category
        // of this run, multiplied up as categories go by (taken as independent).
        var unseen = 1.0
        let rows = categories.map { c -> CategoryEstimate in
            let products: Int, distinct: Double, seenShare: Double, runs: Int
            if let h = history.categories[c.id] {
                products = Int(h.listedProducts.rounded())
                let draws = Double(products) * (1 - h.productFailureRate) * h.sellersPerProduct
                distinct = SellerPool.expectedDistinct(draws: draws, poolSize: h.poolSize)
                // The category's pool is taken as a random part of the org's sellers, so a
                // seller of a later category is in this one's pool with chance pool / org.
                let orgPool = max(Double(history.orgSellers), h.poolSize ?? 0)
                let inPool = orgPool > 0 ? min(1, (h.poolSize ?? 0) / orgPool) : 0
                seenShare = inPool * SellerPool.coverage(draws: draws, poolSize: h.poolSize)
                runs = h.runs
            } else {
                products = c.expectedProducts
                distinct = Double(c.expectedProducts * c.expectedSellersPerProduct)
                seenShare = 0
                runs = 0
            }
            let ebayCalls = Int((distinct * unseen).rounded())
            unseen *= 1 - seenShare
            let amazonCents = products * unitCosts.amazonProductCallCents
            let ebayCents = ebayCalls * unitCosts.ebaySellerCallCents
            return CategoryEstimate(categoryId: c.id, name: c.name, amazonCalls: products, amazonCents: amazonCents,
                                    ebayCalls: ebayCalls, ebayCents: ebayCents, totalCents: amazonCents + ebayCents, basedOnRuns: runs)
        }
        return CostEstimate(categories: rows, totalCents: rows.reduce(0) { $0 + $1.totalCents },
                            expectedProducts: rows.reduce(0) { $0 + $1.amazonCalls },
                            expectedSellers: rows.reduce(0) { $0 + $1.ebayCalls })
    }
}
