import Foundation
import HubCore
import HubStore

/// The fan-out's table reads: every one leaves the loop through `offLoop`, the one place
/// that says where reads run (a worker) and how their result comes back (posted to the loop).
extension FanOut {
    /// Runs `work` off the loop and hands its result to `then` on the loop thread.
    func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T,
                              then: @escaping @Sendable (FanOut, Result<T, Error>) -> Void) {
        // Bounded: a refused read fails at once (workersBusy) into the core's retry or
        // `unavailable` path instead of parking a thread.
        db.run(work) { [weak self] result in
            self?.loop?.post { [weak self] in if let self { then(self, result) } }
        }
    }

    /// Performs a read the core asked for and gives it the answer.
    func read(_ read: FeedRead) {
        let events = self.events, limits = core.limits
        offLoop({ () -> FeedReadResult in
            switch read {
            case .snapshot(_, let run, let org, let since, _, _):
                return .snapshot(try events.runSnapshotRead(run: run, org: org, since: since, limit: limits.pageSize, recent: limits.snapshotItems))
            case .replay(_, let run, let org, let after, _):
                return .page(try events.itemEventsRead(run: run, org: org, after: after, limit: limits.pageSize), runEvent: nil)
            case .backfill(let run, let org, let after, let refreshRun, _, _):
                let page = try events.itemEventsRead(run: run, org: org, after: after, limit: limits.pageSize)
                return .page(page, runEvent: refreshRun ? try events.runEventRead(run: run, org: org) : nil)
            }
        }, then: { fanOut, result in
            if case .failure(let error) = result { fanOut.logger.warning("fan-out read \(read) failed: \(error)") }
            fanOut.perform(fanOut.core.readDone(read, (try? result.get()) ?? .failed, depth: fanOut.depth))
        })
    }
}
