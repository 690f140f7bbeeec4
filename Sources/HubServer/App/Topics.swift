import Foundation
import HubCore
import HubStore

// The classes below are confined to the loop thread; they are marked Sendable only so the
// database queue's completions can carry them back to the loop through `loop.post`.

/// One WebSocket client (exists from upgrade to close; loop thread only).
// @unchecked Sendable: loop thread only; crosses threads only inside LoopBound-style hand-offs.
final class ClientState: @unchecked Sendable {
    let session: WebSocketSession
    let principal: Principal
    /// What the upgrade authenticated with; re-checked when credentials change.
    let credential: Credential
    var orgSubscribed = false
    /// Run subscriptions by run key (lowercase uuid).
    var runs: [String: RunSubscription] = [:]
    /// Messages received in the current one-second window (flood control).
    var windowStart = ContinuousClock.now
    var windowMessages = 0
    /// State updates held back while this client's queue is backed up, by key ("run:<id>",
    /// "badge"): a newer one replaces an older one, so a slow client gets the latest state
    /// instead of every intermediate step.
    var held: [String: [UInt8]] = [:]
    var heldWarnings: [[UInt8]] = []
    var isHolding: Bool { !held.isEmpty || !heldWarnings.isEmpty }
    /// Bytes in `held` and `heldWarnings`.
    var heldBytes = 0
    /// Bytes of waves buffered across all of this client's run subscriptions (the sum of
    /// their `bufferedBytes`) while their snapshot or replay is being read.
    var bufferedBytes = 0

    /// Everything the hub keeps for this client: frames queued in its WebSocket session,
    /// waves buffered for its replaying subscriptions and held state updates. The one
    /// number the per-client bound (`serve --client-queue-kib`) applies to.
    var bytesHeld: Int { session.queuedBytes + bufferedBytes + heldBytes }

    init(session: WebSocketSession, principal: Principal, credential: Credential) {
        self.session = session
        self.principal = principal
        self.credential = credential
    }

    var subscriptionCount: Int { runs.count + (orgSubscribed ? 1 : 0) }
}

/// A client's place in one run's event stream (exists while subscribed).
// @unchecked Sendable: loop thread only.
final class RunSubscription: @unchecked Sendable {
    /// The last item sequence number this client has been sent (bounded, non-trapping).
    var cursor: StreamCursor
    /// False while its snapshot or `since` replay is still being read from the table;
    /// live waves wait in `buffered` meanwhile so nothing is lost or sent twice.
    var live = false
    var buffered: [EventWave] = []
    /// Bytes of `buffered`; also counted in the owning client's `bufferedBytes`.
    var bufferedBytes = 0

    init(cursor: StreamCursor) { self.cursor = cursor }
}

/// One run's fan-out state (exists while it has subscribers).
// @unchecked Sendable: loop thread only.
final class RunTopic: @unchecked Sendable {
    let key: String
    let runID: UUID
    var subscribers: [ObjectIdentifier: ClientState] = [:]
    /// Highest sequence number the hub has seen contiguously; nil until the first
    /// subscriber's query says where the table stands.
    var lastSeq: Int64?
    /// A read of missed items from the table is in flight; notifications wait in `queued`.
    var backfilling = false
    var queued: [(NotificationPayload, [UInt8])] = []
    var wave = EventWave()
    /// Latest run event of this drain (coalesced: latest wins).
    var pendingRun: [UInt8]?
    var pendingWarnings: [[UInt8]] = []
    /// The run event of the wave being delivered (coalescing key "run:<id>").
    var latestRunEvent: [UInt8]?
    var dirty = false

    init(key: String, runID: UUID) {
        self.key = key
        self.runID = runID
    }
}

/// One org's fan-out state for the nav badge and run list (exists while subscribed).
// @unchecked Sendable: loop thread only.
final class OrgTopic: @unchecked Sendable {
    let key: String
    let orgID: UUID
    var subscribers: [ObjectIdentifier: ClientState] = [:]
    /// Latest run event per run in this drain (coalesced).
    var pendingRuns: [String: [UInt8]] = [:]
    var pendingWarnings: [[UInt8]] = []
    var pendingBadge: [UInt8]?
    /// Run-state re-reads in flight (after a LISTEN outage).
    var refreshesInFlight = 0
    /// Runs whose live event arrived while a re-read was in flight: the live one is at least
    /// as new, so the re-read must not overwrite it. Emptied when no re-read is in flight.
    var liveDuringRefresh: Set<String> = []
    var recountInFlight = false
    var recountAgain = false
    var dirty = false

    init(key: String, orgID: UUID) {
        self.key = key
        self.orgID = orgID
    }
}
