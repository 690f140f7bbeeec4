import Foundation

/// A connection whose first request head arrived (still unread, queued on the socket) and
/// passed `RequestHeadGate`, on its way
/// from the `Acceptor` to the loop that will serve it (`HubLoop.adoptAccepted`). Plain data,
/// so it can be posted to another loop's thread.
struct AcceptedSocket: Sendable {
    /// The connected socket (non-blocking); owned by whoever holds this value.
    let fd: Int32
    /// The client address, counted against the per-address cap until the connection ends.
    let address: String
    /// When it was accepted: the first request's deadline counts from here.
    let acceptedAt: ContinuousClock.Instant
}
