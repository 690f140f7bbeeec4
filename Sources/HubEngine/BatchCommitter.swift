import Foundation
import HubStore

/// Commits one executor's batches on a thread of its own, one at a time and in order, so the
/// executor makes the next provider calls while the database commits (and syncs) the last
/// batch. At most one batch is in flight: `submit` waits for the previous one, and reports
/// its failure (fenced out, database gone) before handing over the next.
// @unchecked Sendable: `pending`, `busy`, `failure` and `closed` are guarded by `condition`.
final class BatchCommitter: @unchecked Sendable {
    /// The in-flight commit did not end within `limit` (the database hangs).
    struct Stuck: Error, CustomStringConvertible {
        var description: String { "a batch commit did not finish in time" }
    }

    private let commit: @Sendable (ItemBatch) throws -> Void
    private let limit: TimeInterval
    private let condition = NSCondition()
    private var pending: ItemBatch?
    private var busy = false
    private var failure: Error?
    private var closed = false

    /// `commit` writes a batch or throws; `limit` bounds every wait for it (seconds).
    init(label: String, limit: TimeInterval = 120, commit: @escaping @Sendable (ItemBatch) throws -> Void) {
        self.commit = commit
        self.limit = limit
        let t = Thread { [self] in loop() }
        t.name = "commit-\(label)"
        t.start()
    }

    /// Waits for the batch in flight, then hands `batch` over. Throws the failure of an
    /// earlier commit instead (the batch is then not taken).
    func submit(_ batch: ItemBatch) throws {
        try condition.withLock {
            try waitIdle()
            pending = batch
            busy = true
            condition.broadcast()
        }
    }

    /// Waits until every batch handed over is committed; throws the first failure.
    func drain() throws {
        try condition.withLock { try waitIdle() }
    }

    /// A batch is being committed now.
    var isBusy: Bool { condition.withLock { busy } }

    /// The failure of a finished commit, if any, without waiting.
    func check() throws {
        try condition.withLock { if let failure { throw failure } }
    }

    /// Ends the thread once the batch in flight (if any) is done; later submits fail.
    func close() {
        condition.withLock {
            closed = true
            condition.broadcast()
        }
    }

    /// Caller holds `condition`.
    private func waitIdle() throws {
        let deadline = Date().addingTimeInterval(limit)
        while busy && failure == nil {
            if !condition.wait(until: deadline) { throw Stuck() }
        }
        if let failure { throw failure }
        if closed { throw RunExecutor.Stop.stopping }
    }

    private func loop() {
        while true {
            let batch: ItemBatch? = condition.withLock {
                while pending == nil && !closed { _ = condition.wait(until: Date().addingTimeInterval(1)) }
                defer { pending = nil }
                return pending
            }
            guard let batch else { return }
            var error: Error?
            do { try commit(batch) } catch let e { error = e }
            condition.withLock {
                failure = failure ?? error
                busy = false
                condition.broadcast()
            }
        }
    }
}
