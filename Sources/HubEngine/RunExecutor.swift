import Foundation
import HubCore
import HubStore
import Logging

/// Executes one run on its own thread: categories → products (paid Amazon call) →
/// sellers (paid eBay call each), committing items with the checkpoint in small batches
/// under the run's lease, which a LeaseKeeper renews meanwhile. Stops when the fence no
/// longer matches (paused, cancelled, taken over), when asked to, or at the end.
// @unchecked Sendable: stop/abandon flags are guarded by `lock`; everything else is touched by the executor's own thread only.
final class RunExecutor: @unchecked Sendable {
    /// Ends execution early; the run stays as the database has it.
    struct Stop: Error {
        let why: String
        static let fencedOut = Stop(why: "the run was paused, cancelled or taken over")
        static let stopping = Stop(why: "engine stopping")
    }

    /// The lease could not be confirmed to outlast a paid call: the run is left to lapse
    /// rather than risk paying for an item twice.
    struct LeaseUncertain: Error, CustomStringConvertible {
        var description: String { "the lease could not be renewed for the next paid call" }
    }

    let lease: RunRepository.Lease
    private let run: RunRecord
    private let pool: ConnectionPool
    private let provider: any CollectionProvider
    private let config: EngineConfig
    private let logger: Logger
    private let runs: RunRepository
    private let items: ItemRepository
    private let onExit: @Sendable (RunExecutor) -> Void
    private let lock = NSLock()
    private var stopRequested = false
    private var abandoned = false
    private var thread: Thread?
    private let clock: any TimeSource
    /// Rung by stop, abandon and a lost lease: ends a retry wait at once.
    private let wake = Alarm()
    private let keeper: LeaseKeeper
    private let committer: BatchCommitter

    // Executor thread only.
    private var state: RunState
    private var budget: BudgetGuard
    private var checkpoint: RunCheckpoint
    private var batch: ItemBatch
    private var batchStarted: ContinuousClock.Instant?
    private var seenSellers: Set<String> = []
    /// What the run observed per category so far (committed with each batch).
    private var stats: [String: CategoryRunStats]
    /// Distinct sellers offered in the current category (its stats count them).
    private var categorySellers: Set<String> = []
    /// The plan per category, in run order: the projection of categories not yet listed.
    private var plan: [CategoryEstimate] = []
    /// Items committed so far (processed, failed, skipped).
    private var committedDone: Int
    private var rate = RateMeter()
    private let sessionStart = ContinuousClock.now
    private var backoff: Backoff
    private var rng = SystemRandomNumberGenerator()
    /// How long a provider call takes: when calls are slow, items are committed before the
    /// next one instead of waiting for it (users see each item as it lands).
    private var pace = CallPace()

    /// `claimedAt`: when the claim that returned `lease` was sent (by `config.clock`).
    init(run: RunRecord, lease: RunRepository.Lease, claimedAt: Duration, pool: ConnectionPool, provider: any CollectionProvider,
         config: EngineConfig, logger: Logger, onExit: @escaping @Sendable (RunExecutor) -> Void) {
        self.run = run
        self.lease = lease
        self.pool = pool
        self.provider = provider
        self.config = config
        self.logger = logger
        self.onExit = onExit
        runs = RunRepository(pool: pool)
        items = ItemRepository(pool: pool)
        state = run.state
        budget = BudgetGuard(capCents: run.budgetCapCents, softPercent: run.softWarningPercent,
                             spentCents: run.actualCostCents, warned: run.budgetWarnedAt != nil)
        checkpoint = run.checkpoint ?? RunCheckpoint()
        checkpoint.budgetWarned = run.budgetWarnedAt != nil
        stats = run.categoryStats
        committedDone = run.processedItems + run.failedItems + run.skippedItems
        batch = ItemBatch(checkpoint: checkpoint, currentCategory: run.currentCategory)
        backoff = config.backoff
        clock = config.clock
        let runs = runs, leaseSeconds = config.leaseTimeout.seconds
        keeper = LeaseKeeper(window: LeaseWindow(timeout: config.leaseTimeout, claimedAt: claimedAt), clock: config.clock,
                             label: run.id.lowercasedString, logger: logger, lost: wake) {
            try runs.runHeartbeat(lease, leaseSeconds: leaseSeconds)
        }
        let items = items, keeper = keeper, logger = logger, orgID = run.orgID
        committer = BatchCommitter(label: run.id.lowercasedString) { batch in
            try Self.commit(batch, items: items, lease: lease, orgID: orgID, leaseSeconds: leaseSeconds, clock: config.clock,
                            keeper: keeper, logger: logger)
        }
    }

    func start() {
        keeper.start()
        let t = Thread { [self] in main() }
        t.name = "run-\(run.id.uuidString.prefix(8))"
        thread = t
        t.start()
    }

    /// Asks the executor to commit what it has, give the lease back and exit. Any thread.
    func stop() {
        lock.withLock { stopRequested = true }
        wake.ring()
    }

    /// Exits without committing or releasing: what a crash would leave (tests). Heartbeats
    /// end at once, even while a provider call is still in progress.
    func abandon() {
        lock.withLock { stopRequested = true; abandoned = true }
        keeper.halt()
        wake.ring()
    }

    private var shouldStop: Bool { lock.withLock { stopRequested } }
    private var isAbandoned: Bool { lock.withLock { abandoned } }

    private func main() {
        do {
            try execute()
        } catch let stop as Stop {
            logger.info("run \(run.id.lowercasedString) stopped: \(stop.why)")
        } catch {
            // The lease lapses and a scheduler resumes the run from its checkpoint.
            logger.error("run \(run.id.lowercasedString) interrupted: \(error)")
        }
        // What was handed over commits before the lease is given back (not after a crash).
        if !isAbandoned { try? committer.drain() }
        committer.close()
        // No heartbeat may extend the lease after it is given back (or after a crash).
        keeper.stop()
        if shouldStop && !isAbandoned {
            try? runs.runRelease(lease)
        }
        onExit(self)
    }

    private func execute() throws {
        let categories = try CatalogRepository(pool: pool).categoryFind(run.categoryIDs)
        guard categories.count == run.categoryIDs.count else {
            _ = try runs.runEngineTransition(lease, from: state, command: .fail(.providerError))
            throw Stop(why: "a category of the run no longer exists")
        }
        seenSellers = try items.itemsSellerIDs(runID: run.id)
        plan = planFor(categories)
        // Restarted inside a category: the distinct sellers it offered before are not
        // known any more, so its pool size must not be learned from.
        if checkpoint.categoryIndex < categories.count && (checkpoint.productOffset > 0 || checkpoint.sellerOffset != nil) {
            stats[categories[checkpoint.categoryIndex].id, default: CategoryRunStats()].resumed = true
        }
        // A run taken over while paused for its provider stays paused until the first
        // provider call below succeeds (callProvider resumes it then).
        logger.info("executing run \(run.id.lowercasedString) from category \(checkpoint.categoryIndex), product \(checkpoint.productOffset)")
        while checkpoint.categoryIndex < categories.count {
            let category = categories[checkpoint.categoryIndex]
            batch.currentCategory = category.name
            guard let products = try listing(category) else {
                // Listing refused for the category as a whole: move on to the next one.
                checkpoint.categoryIndex += 1
                checkpoint.productOffset = 0
                record()
                continue
            }
            // The listing is known: the run's total becomes exact for this category's
            // products at once (published with an empty commit if nothing else is due).
            categorySellers = []
            stats[category.id, default: CategoryRunStats()].listed = products.count
            record()
            try flush()
            for ref in products.dropFirst(checkpoint.productOffset) {
                try product(ref, category)
                checkpoint.productOffset += 1
                checkpoint.sellerOffset = nil
                record()
                try flushIfDue()
            }
            stats[category.id, default: CategoryRunStats()].complete = true
            checkpoint.categoryIndex += 1
            checkpoint.productOffset = 0
            record()
        }
        try finish(reason: nil)
    }

    /// The category's whole listing (listing is free), page by page. nil when the provider
    /// refuses it at the start; a refusal later keeps the pages already listed.
    private func listing(_ category: Category) throws -> [ProductRef]? {
        var products: [ProductRef] = []
        var cursor = 0
        while true {
            let page = try callProvider(cost: nil) { () throws(ProviderError) in
                try provider.listProducts(category: category, cursor: cursor, limit: 50)
            }
            guard case .success(let listing) = page else { return products.isEmpty ? nil : products }
            products += listing.products
            guard let next = listing.next, !listing.products.isEmpty else { return products }
            cursor = next
        }
    }

    /// The run's stored estimate in run order; runs made without one (bench, older rows)
    /// get the catalog's figures.
    private func planFor(_ categories: [Category]) -> [CategoryEstimate] {
        let stored = Dictionary((run.estimate?.categories ?? []).map { ($0.categoryId, $0) }, uniquingKeysWith: { a, _ in a })
        let catalog = CostEstimator.estimate(categories: categories, unitCosts: config.unitCosts).categories
        return catalog.map { stored[$0.categoryId] ?? $0 }
    }

    /// One product: the paid Amazon call, then its sellers.
    private func product(_ ref: ProductRef, _ category: Category) throws {
        if checkpoint.sellerOffset == nil {
            try authorize(config.unitCosts.amazonProductCallCents)
            let result = try callProvider(cost: config.unitCosts.amazonProductCallCents) { () throws(ProviderError) in
                try provider.fetchProduct(ref)
            }
            switch result {
            case .success(let p):
                count(category) { $0.productsFetched += 1; $0.costCents += config.unitCosts.amazonProductCallCents }
                add(NewItem(itemType: .amazonProduct, externalID: p.asin, status: .completed,
                            dataJSON: try ProductData(asin: p.asin, title: p.title, priceCents: p.priceCents, category: category.id).json,
                            costCents: config.unitCosts.amazonProductCallCents, categoryID: category.id))
            case .failure(let error):
                // A failed item is skipped at once: its sellers are not looked for.
                count(category) { $0.productsFetched += 1; $0.productsFailed += 1; $0.costCents += config.unitCosts.amazonProductCallCents }
                add(failedItem(.amazonProduct, ref.asin, error, config.unitCosts.amazonProductCallCents, category))
                return
            }
            checkpoint.sellerOffset = 0
            record()
        }
        let discovered = try callProvider(cost: nil) { () throws(ProviderError) in
            try provider.discoverSellers(for: ref, category: category)
        }
        guard case .success(let sellers) = discovered else { return }
        while let offset = checkpoint.sellerOffset, offset < sellers.count {
            let s = sellers[offset]
            let distinct = categorySellers.insert(s.platformID).inserted
            count(category) { $0.sellersDiscovered += 1; if distinct { $0.sellersDistinct += 1 } }
            if !seenSellers.contains(s.platformID) {
                try authorize(config.unitCosts.ebaySellerCallCents)
                let result = try callProvider(cost: config.unitCosts.ebaySellerCallCents) { () throws(ProviderError) in
                    try provider.fetchSeller(s)
                }
                count(category) { $0.sellersPaid += 1; $0.costCents += config.unitCosts.ebaySellerCallCents }
                switch result {
                case .success(let profile):
                    let data = SellerData(displayName: profile.displayName, platformID: profile.platformID, asin: ref.asin,
                                          feedbackScore: profile.feedbackScore)
                    add(NewItem(itemType: .ebaySeller, externalID: s.platformID, status: .completed, dataJSON: try data.json,
                                costCents: config.unitCosts.ebaySellerCallCents, categoryID: category.id,
                                seller: NewSeller(displayName: profile.displayName, platformID: profile.platformID,
                                                  feedbackScore: profile.feedbackScore)))
                case .failure(let error):
                    count(category) { $0.sellersFailed += 1 }
                    add(failedItem(.ebaySeller, s.platformID, error, config.unitCosts.ebaySellerCallCents, category))
                }
                seenSellers.insert(s.platformID)
            }
            checkpoint.sellerOffset = offset + 1
            record()
            try flushIfDue()
        }
    }

    /// Updates the category's observations; they reach the batch with the next record().
    private func count(_ category: Category, _ change: (inout CategoryRunStats) -> Void) {
        change(&stats[category.id, default: CategoryRunStats()])
    }

    // MARK: Budget

    /// Checks the cap before a paid call; a call that would cross it ends the run.
    private func authorize(_ cents: Int) throws {
        switch budget.authorize(callCents: cents) {
        case .allowed:
            break
        case .allowedCrossingSoftLimit:
            checkpoint.budgetWarned = true
            batch.budgetWarned = true
            record()
        case .wouldExceedCap:
            try finish(reason: .budgetExhausted)
            throw Stop(why: "budget exhausted")
        }
    }

    // MARK: Provider calls, outages

    /// Calls the provider; on `unavailable` pauses the run (provider_unavailable), retries
    /// with backoff, and resumes it when the provider answers. Item errors are returned.
    /// A paid call (`cost` set) starts only while the lease held outlasts the provider's timeout.
    private func callProvider<T>(cost: Int?, _ call: () throws(ProviderError) -> T) throws -> Result<T, ProviderError> {
        while true {
            if shouldStop { throw Stop.stopping }
            if keeper.isLost { throw Stop.fencedOut }
            try committer.check()
            if cost != nil { try ensureLeaseCovers(provider.callTimeout) }
            let started = ContinuousClock.now
            let outcome = Result { () throws(ProviderError) -> T in try call() }
            pace.record(ContinuousClock.now - started)
            switch outcome {
            case .success(let value):
                if state.status == .paused { try resumeAfterOutage() }
                return .success(value)
            case .failure(.item(let code, let message)):
                if state.status == .paused { try resumeAfterOutage() }
                return .failure(.item(code: code, message: message))
            case .failure(let error):
                // Not charged: give the budget back, then wait and retry the same call.
                if let cost { budget.refund(callCents: cost) }
                try waitForProvider(after: error)
                if let cost { try authorize(cost) }
            }
        }
    }

    private func waitForProvider(after error: ProviderError) throws {
        var retryAfter: Duration?
        if case .unavailable(let after, let reason) = error {
            retryAfter = after
            logger.notice("run \(run.id.lowercasedString): provider unavailable (\(reason))")
        }
        let delay = backoff.next(retryAfter: retryAfter, random: &rng)
        let retryAt = Date().addingTimeInterval(delay.seconds)
        if state.status == .running {
            // Items first: the pause must find the run as the last commit left it.
            try flush()
            try committer.drain()
            guard try runs.runEngineTransition(lease, from: state, command: .pause(.providerUnavailable), nextRetryAt: retryAt) else {
                throw Stop(why: "the run changed state")
            }
            state = RunState(status: .paused, reason: .providerUnavailable)
        } else if try !runs.runSetNextRetry(lease, at: retryAt) {
            throw Stop.fencedOut
        }
        // The keeper heartbeats meanwhile; a stop or a lost lease ends the wait at once.
        guard clock.sleep(until: clock.now + delay, or: wake) else { throw keeper.isLost ? Stop.fencedOut : Stop.stopping }
    }

    /// Renews the lease first when what is left of it would not outlast a call of `callTimeout`
    /// (only when heartbeats have been failing: they come every third of the lease).
    private func ensureLeaseCovers(_ callTimeout: Duration?) throws {
        guard let callTimeout, !keeper.covers(callTimeout: callTimeout) else { return }
        guard try keeper.renewNow() else { throw Stop.fencedOut }
        guard keeper.covers(callTimeout: callTimeout) else { throw LeaseUncertain() }
    }

    private func resumeAfterOutage() throws {
        guard try runs.runEngineTransition(lease, from: state, command: .resume(by: .engine)) else {
            throw Stop(why: "the run was paused by an admin, cancelled or taken over")
        }
        state = RunState(status: .running)
        backoff.reset()
        logger.notice("run \(run.id.lowercasedString): provider back, resumed")
    }

    // MARK: Batches

    private func add(_ item: NewItem) {
        if batch.items.isEmpty { batchStarted = .now }
        batch.items.append(item)
    }

    /// Copies the checkpoint and the observations into the batch: they commit with the
    /// items they cover.
    private func record() {
        batch.checkpoint = checkpoint
        batch.categoryStats = stats
    }

    /// The best-known total, progress and rate once this batch is in.
    private func progress() -> BatchProgress {
        let done = committedDone + batch.items.count
        let statsNow = batch.categoryStats ?? stats
        let expected = max(done, RunProjection.expectedItems(plan: plan, stats: statsNow, currentIndex: batch.checkpoint.categoryIndex))
        rate.record(done: done, at: (ContinuousClock.now - sessionStart).seconds)
        return BatchProgress(expectedItems: expected, permille: RunProgress.permille(done: done, expected: expected),
                             itemsPerSecond: rate.itemsPerSecond)
    }

    private func flushIfDue() throws {
        if shouldStop { throw Stop.stopping }
        if keeper.isLost { throw Stop.fencedOut }
        let age = batchStarted.map { ContinuousClock.now - $0 } ?? .zero
        let full = batch.items.count >= config.batchMaxItems
        let ripe = !batch.items.isEmpty && (age >= config.batchMaxAge || pace.typical >= config.batchMaxAge)
        // While a commit is in flight a ripe batch keeps growing instead of waiting for it:
        // the database's pace sets the batch size (one commit, one sync, for many items).
        if full || (ripe && !committer.isBusy) { try flush() }
    }

    /// Hands the batch to the committer (after the previous one is in) and starts the next.
    private func flush() throws {
        if isAbandoned { throw Stop(why: "abandoned") }
        batch.progress = progress()
        try committer.submit(batch)
        committedDone += batch.items.count
        let keepCategory = batch.currentCategory
        let keepStats = batch.categoryStats
        batch = ItemBatch(checkpoint: batch.checkpoint, currentCategory: keepCategory)
        batch.categoryStats = keepStats
        batch.budgetWarned = checkpoint.budgetWarned
        batchStarted = nil
    }

    /// One batch under the fence, on the committer's thread. Retries while PostgreSQL restarts.
    private static func commit(_ batch: ItemBatch, items: ItemRepository, lease: RunRepository.Lease, orgID: UUID, leaseSeconds: Double,
                               clock: any TimeSource, keeper: LeaseKeeper, logger: Logger) throws {
        var attempt = 0
        while true {
            do {
                let sent = clock.now
                guard try items.itemsCommitBatch(batch, lease: lease, orgID: orgID, leaseSeconds: leaseSeconds) else {
                    throw Stop.fencedOut
                }
                keeper.renewed(sentAt: sent)
                return
            } catch let error as PostgresError where error.isConnectionError && attempt < 20 {
                // PostgreSQL restarting: keep the batch and try again; the lease may lapse,
                // in which case the fence refuses the write and the new owner redoes it.
                attempt += 1
                logger.warning("run \(lease.runID.lowercasedString): commit failed (\(error)); retrying")
                Thread.sleep(forTimeInterval: min(2.0, 0.1 * Double(attempt)))
            }
        }
    }

    private func finish(reason: RunReason?) throws {
        try flush()
        try committer.drain()
        if try runs.runEngineTransition(lease, from: state, command: .complete(reason)) {
            logger.info("run \(run.id.lowercasedString) completed\(reason.map { " (\($0.rawValue))" } ?? "")")
        }
    }

    private func failedItem(_ type: ItemType, _ id: String, _ error: ProviderError, _ cost: Int, _ category: Category) -> NewItem {
        var code = "provider_error", message = "\(error)"
        if case .item(let c, let m) = error { code = c; message = m }
        return NewItem(itemType: type, externalID: id, status: .failed, errorCode: code, errorMessage: message,
                       costCents: cost, categoryID: category.id)
    }
}

/// An item's `data` column (jsonb), written by the hub's one JSON writer.
private protocol ItemData: Encodable {}

extension ItemData {
    var json: String {
        get throws { String(decoding: try JSONWriter.encoded(self), as: UTF8.self) }
    }
}

private struct ProductData: ItemData {
    let asin: String
    let title: String
    let priceCents: Int
    let category: String
    enum CodingKeys: String, CodingKey {
        case asin, title, category
        case priceCents = "price_cents"
    }
}

/// A seller's; `feedback_score` is left out when the provider gave none.
private struct SellerData: ItemData {
    let displayName: String
    let platformID: String
    let asin: String
    let feedbackScore: Int?
    enum CodingKeys: String, CodingKey {
        case asin
        case displayName = "display_name"
        case platformID = "platform_id"
        case feedbackScore = "feedback_score"
    }
}
