import HubStore

extension DatabaseWorkers {
    /// Runs `job` (which answers `responder`) on a database worker, or answers 503
    /// `unavailable` with Retry-After at once when every worker is busy and the queue is
    /// full. Loop thread.
    func answer(_ responder: HTTPResponder, refusedHeaders: [(String, String)] = [], _ job: @escaping @Sendable () -> Void) {
        guard !submit(job) else { return }
        responder.apiError(503, "unavailable", "the hub's database workers are all busy; retry",
                           headers: [("Retry-After", "1")] + refusedHeaders)
    }
}
