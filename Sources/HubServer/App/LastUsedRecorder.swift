import Foundation
import HubStore

/// Collects which tokens were used and writes last_used_at in batches on a worker. The
/// loop only inserts into a set; a locked or slow api_tokens table delays the write, never
/// a request. Loop thread only.
// @unchecked Sendable: the pending set is touched on the loop thread only; the worker gets a copy.
final class LastUsedRecorder: @unchecked Sendable {
    private let repository: CredentialRepository
    private let worker = DispatchQueue(label: "collection-hub.last-used")
    private var pending: Set<UUID> = []
    /// When each token was last written: the column has minute resolution, so a token
    /// used all day costs one write a minute, not one per request.
    private var written: [UUID: ContinuousClock.Instant] = [:]
    private var inFlight = false

    init(pool: ConnectionPool) { repository = CredentialRepository(pool: pool) }

    func note(_ tokenID: UUID) {
        if let at = written[tokenID], ContinuousClock.now - at < .seconds(60) { return }
        pending.insert(tokenID)
    }

    /// Hands the pending set to the worker unless a write is still running.
    func flush(loop: HubLoop) {
        guard !inFlight, !pending.isEmpty else { return }
        let ids = Array(pending)
        pending.removeAll()
        let now = ContinuousClock.now
        for id in ids { written[id] = now }
        if written.count > 50_000 { written = written.filter { now - $0.value < .seconds(60) } }
        inFlight = true
        worker.async { [repository, weak loop, self] in
            // A failed write is dropped: last_used_at is informational.
            try? repository.touchLastUsed(ids)
            loop?.post { self.inFlight = false }
        }
    }
}
