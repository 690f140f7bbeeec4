import Foundation

/// Counters of what the transport refused or cut short, for /metrics. Loop-thread snapshot.
public struct TransportStats: Sendable {
    /// Body bytes held right now by requests that have not been handed to the handler.
    public var heldRequestBytes = 0
    /// The most `heldRequestBytes` ever reached.
    public var peakHeldRequestBytes = 0
    /// Requests answered 503 because `maxHeldRequestBytes` was reached.
    public var requestsRefusedForCapacity = 0
    /// Requests answered 408 (or dropped) at their deadline.
    public var requestDeadlinesExpired = 0
    /// Connections answered 429 for exceeding `maxConnectionsPerAddress`.
    public var connectionsRefusedPerAddress = 0
}

/// Loop-thread bookkeeping that bounds what unfinished requests and connections may hold:
/// body bytes summed over every unfinished request (one slow client cannot make the hub
/// buffer without limit by opening many sockets), and open connections per client address.
final class RequestLimits {
    let maxHeldBytes: Int
    let maxConnectionsPerAddress: Int
    private(set) var stats = TransportStats()
    private var connectionsByAddress: [String: Int] = [:]

    init(maxHeldBytes: Int, maxConnectionsPerAddress: Int) {
        self.maxHeldBytes = maxHeldBytes
        self.maxConnectionsPerAddress = maxConnectionsPerAddress
    }

    /// Whether `more` body bytes still fit under the global cap.
    func canHold(_ more: Int) -> Bool { stats.heldRequestBytes + more <= maxHeldBytes }

    /// Counts `count` bytes just appended to `transaction`'s body.
    func hold(_ count: Int, for transaction: HTTPTransaction) {
        transaction.limits = self
        transaction.heldBytes += count
        stats.heldRequestBytes += count
        stats.peakHeldRequestBytes = max(stats.peakHeldRequestBytes, stats.heldRequestBytes)
    }

    /// Gives back what `transaction` held (dispatched, answered, or gone). Idempotent.
    func release(_ transaction: HTTPTransaction) {
        stats.heldRequestBytes -= transaction.heldBytes
        transaction.heldBytes = 0
    }

    func noteRefusedForCapacity() { stats.requestsRefusedForCapacity += 1 }
    func noteDeadlineExpired() { stats.requestDeadlinesExpired += 1 }
    func noteRefusedPerAddress() { stats.connectionsRefusedPerAddress += 1 }

    /// A connection from `address` was accepted; false when it is over the per-address cap
    /// (it is counted either way, and must be passed to `connectionClosed`).
    func connectionOpened(address: String) -> Bool {
        let n = (connectionsByAddress[address] ?? 0) + 1
        connectionsByAddress[address] = n
        return maxConnectionsPerAddress == 0 || n <= maxConnectionsPerAddress
    }

    /// The connection counted by `connectionOpened(address:)` is gone.
    func connectionClosed(address: String) {
        guard let n = connectionsByAddress[address] else { return }
        if n <= 1 { connectionsByAddress.removeValue(forKey: address) } else { connectionsByAddress[address] = n - 1 }
    }
}
