import Foundation
import HubCore
import HubStore

// The classes below are confined to the loop thread; they are marked Sendable only so the
// database queue's completions can carry them back to the loop through `loop.post`.

/// One WebSocket client (exists from upgrade to close; loop thread only). What the hub
/// keeps for it besides its socket's queue (buffered waves, held updates, its run cursors)
/// is in `FanOutCore`, under `id`.
// @unchecked Sendable: loop thread only; crosses threads only inside LoopBound-style hand-offs.
final class ClientState: @unchecked Sendable {
    let session: WebSocketSession
    let principal: Principal
    /// What the upgrade authenticated with; re-checked when credentials change.
    let credential: Credential
    var orgSubscribed = false
    /// Messages received in the current one-second window (flood control).
    var windowStart = ContinuousClock.now
    var windowMessages = 0

    init(session: WebSocketSession, principal: Principal, credential: Credential) {
        self.session = session
        self.principal = principal
        self.credential = credential
    }

    /// The fan-out's name for this client.
    var id: FeedClientID { session.id }
}

/// An org snapshot read in flight and the subscribers it answers, in the order they came.
// @unchecked Sendable: loop thread only.
final class OrgSnapshotShare: @unchecked Sendable {
    var waiters: [ClientState]
    /// The LISTEN state it was asked under: a read that spans a change may have missed
    /// notifications, and a newcomer under another state asks its own.
    let epoch: Int
    let listening: Bool

    init(first: ClientState, epoch: Int, listening: Bool) {
        self.waiters = [first]
        self.epoch = epoch
        self.listening = listening
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
    /// The org snapshot read in flight that a newcomer may still share: closed once the
    /// topic has sent anything since it was asked (see `FanOutCore+SharedReads`).
    var openSnapshot: OrgSnapshotShare?

    init(key: String, orgID: UUID) {
        self.key = key
        self.orgID = orgID
    }
}
