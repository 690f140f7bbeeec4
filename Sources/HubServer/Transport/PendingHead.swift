import CLibWebSockets
import Foundation
import HubCore

/// One accepted socket whose first request head is still arriving, or which was answered
/// by the acceptor and is being drained before it closes. Holds at most
/// `capacity` bytes and lives at most until its deadline. Loop thread only.
final class PendingHead {
    enum Phase {
        /// Reading the head into `buffer`.
        /// Looking at the head as it arrives (peeking, not consuming it).
        case reading
        /// Answered and write side shut: input is read and discarded until EOF or the deadline,
        /// so that closing with unread input does not reset the answer away.
        case draining
    }

    let fd: Int32
    let address: String
    let acceptedAt: ContinuousClock.Instant
    /// Over the per-address cap: answered 429 once its head is complete.
    let overAddressCap: Bool
    var phase = Phase.reading
    var gate: RequestHeadGate
    /// Allocated at the first look; `count` bytes of it hold the queued head so far.
    private(set) var buffer: [UInt8] = []
    private(set) var count = 0
    let capacity: Int
    /// Watches a dup of `fd` while more input is awaited (nil when none is needed).
    var watcher: AdoptedDescriptor?
    /// The head deadline, then the drain deadline.
    var timer: TimerHandle?

    init(fd: Int32, address: String, acceptedAt: ContinuousClock.Instant, overAddressCap: Bool,
         limits: RequestHeadGate.Limits, capacity: Int) {
        self.fd = fd
        self.address = address
        self.acceptedAt = acceptedAt
        self.overAddressCap = overAddressCap
        self.gate = RequestHeadGate(limits: limits)
        self.capacity = capacity
    }

    /// What one look at the socket found.
    enum ReadResult { case grew, unchanged, closed }

    /// Copies what is queued on the socket (at most `capacity` bytes) without consuming it:
    /// lws reads the head itself once the connection is handed on. (lws 4.1 can adopt a
    /// socket with bytes already read, but then hands those bytes to the body callback a
    /// second time.) Loop thread; never blocks.
    func peek() -> ReadResult {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: capacity) }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, capacity, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT)) }
            if n > count { count = n; return .grew }
            if n == 0 { return .closed }
            if n > 0 { return peerHungUp() ? .closed : .unchanged }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .unchanged : .closed
        }
    }

    /// Readable without new bytes: the peer shut its side (a head it can no longer finish).
    private func peerHungUp() -> Bool {
        let rdhup: Int16 = 0x2000  // POLLRDHUP (Linux), not exported to Swift without _GNU_SOURCE
        var probe = pollfd(fd: fd, events: rdhup, revents: 0)
        return poll(&probe, 1, 0) > 0 && probe.revents & (rdhup | Int16(POLLHUP) | Int16(POLLERR)) != 0
    }

    /// Wake the watcher only once more than `count` bytes are queued (unread bytes would
    /// otherwise keep a level-triggered poll firing; EOF still wakes it).
    func waitForMore() {
        raisedLowWater = true
        setLowWater(Int32(count + 1))
    }

    /// Back to the default (1) before anyone else reads the socket.
    func restoreLowWater() {
        guard raisedLowWater else { return }
        raisedLowWater = false
        setLowWater(1)
    }

    private var raisedLowWater = false

    private func setLowWater(_ bytes: Int32) {
        var value = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Reads and discards what is there. Loop thread; never blocks. False once the peer
    /// closed (or the socket failed).
    func discard() -> Bool {
        var sink = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { continue }
            if n < 0 && errno == EINTR { continue }
            return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    /// The gate's verdict on what has arrived.
    func judge() -> RequestHeadGate.Verdict {
        buffer.withUnsafeBytes { gate.received(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    /// Writes a small complete answer without waiting (a fresh socket's send buffer takes it
    /// whole; if not, the client gets the part that fit), then shuts the write side.
    func answer(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) }
        shutdown(fd, Int32(SHUT_WR))
        buffer = []
        count = 0
    }
}
