/// Builds estimates: one Amazon call per product, one eBay call per expected seller
/// (products × sellers per product: the "~200 eBay calls" of the docs).
public enum CostEstimator {
    public static func estimate(categories: [Category], unitCosts: UnitCosts) -> CostEstimate {
        let rows = categories.map { c -> CategoryEstimate in
            let amazonCalls = c.expectedProducts
            let ebayCalls = c.expectedProducts * c.expectedSellersPerProduct
            let amazonCents = amazonCalls * unitCosts.amazonProductCallCents
            let ebayCents = ebayCalls * unitCosts.ebaySellerCallCents
            return CategoryEstimate(categoryId: c.id, name: c.name, amazonCalls: amazonCalls, amazonCents: amazonCents,
                                    ebayCalls: ebayCalls, ebayCents: ebayCents, totalCents: amazonCents + ebayCents)
        }
        return CostEstimate(categories: rows, totalCents: rows.reduce(0) { $0 + $1.totalCents },
                            expectedProducts: rows.reduce(0) { $0 + $1.amazonCalls },
                            expectedSellers: rows.reduce(0) { $0 + $1.ebayCalls })
    }
}
