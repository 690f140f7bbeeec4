import CLibWebSockets
import Foundation
import HubCore
import Logging

/// Accepts connections on the hub's own listening socket, reads each one's first request
/// head on the loop (bounded buffer, one deadline from the accept, never blocking), answers
/// what libwebsockets 4.1 would drop without a word (431 for a head over the limit, 400 for
/// `%00` and other bytes its parser refuses, 405 for an unknown method, 408 for a head that
/// stops arriving, 429 over the per-address cap), and hands every other connection to
/// `handOff` with its head still queued on the socket (looked at with MSG_PEEK, never
/// consumed). An unauthenticated peer gets no more memory than
/// one head buffer and no more time than the deadline.
///
/// Loop thread only (the loop that runs it). `handOff` is where a connection leaves: today
/// it adopts into the same loop; with several loops it would pick one and `post` there
/// (an `AcceptedSocket` is plain data). The per-address count lives in this loop's
/// `RequestLimits`; with several loops it would stay with the acceptor and the release
/// would be posted back.
final class Acceptor {
    /// Accepted per readiness of the listening socket, so one burst cannot starve the loop.
    static let acceptsPerWakeup = 128
    /// How long an answered connection is drained before it is closed.
    static let drainTime = Duration.seconds(2)

    // unowned(unsafe): the loop owns the acceptor, stops it before its context is
    // destroyed (`HubLoop.gracefulShutdown`), and everything here runs on that loop's thread.
    unowned(unsafe) let loop: HubLoop
    let socket: ListeningSocket
    let gateLimits: RequestHeadGate.Limits
    /// Head bytes looked at, at most (a longer head is refused).
    let readCapacity: Int
    let deadline: Duration
    private let handOff: (AcceptedSocket) -> Void
    private var watcher: AdoptedDescriptor?
    private var pending: [ObjectIdentifier: PendingHead] = [:]
    private let logger = Logger(label: "collection-hub.acceptor")

    init(loop: HubLoop, socket: ListeningSocket, gateLimits: RequestHeadGate.Limits, deadline: Duration,
         handOff: @escaping (AcceptedSocket) -> Void) {
        self.loop = loop
        self.socket = socket
        self.gateLimits = gateLimits
        self.readCapacity = gateLimits.maxHeadBytes
        self.deadline = deadline
        self.handOff = handOff
    }

    /// Number of connections whose head is awaited or which are draining (tests, metrics).
    var pendingCount: Int { pending.count }

    /// Starts watching the listening socket. Loop thread.
    func start() {
        loop.preconditionOnLoop()
        guard watcher == nil else { return }
        let copy = dup(socket.fd)
        do {
            watcher = try loop.adoptReadable(fd: copy, onReadable: { [unowned self] in self.acceptReady() },
                                             onClosed: { [unowned self] in self.watcher = nil })
        } catch {
            close(copy)
            logger.error("cannot watch the listening socket: \(error)")
        }
    }

    /// Stops accepting and closes every connection that has not been handed on. Loop thread.
    func stop() {
        watcher?.close()
        watcher = nil
        for head in Array(pending.values) { finish(head) }
    }

    /// The listening socket is readable: accept what is waiting (up to a bound per wakeup).
    private func acceptReady() {
        for _ in 0..<Acceptor.acceptsPerWakeup {
            guard let (fd, address) = socket.acceptOne() else { return }
            accepted(fd: fd, address: address)
        }
    }

    /// A new connection: count it, try the head at once (it often came with the handshake's
    /// last ACK), else watch it.
    private func accepted(fd: Int32, address: String) {
        let withinCap = loop.limits.connectionOpened(address: address)
        let head = PendingHead(fd: fd, address: address, acceptedAt: .now, overAddressCap: !withinCap,
                               limits: gateLimits, capacity: readCapacity)
        pending[ObjectIdentifier(head)] = head
        if !readHead(head) { return }
        let copy = dup(fd)
        do {
            head.watcher = try loop.adoptReadable(fd: copy, onReadable: { [unowned self, unowned head] in
                self.readable(head)
            }, onClosed: { [unowned self, unowned head] in
                self.finish(head)
            })
        } catch {
            close(copy)
            finish(head)
            return
        }
        head.timer = loop.schedule(after: deadline) { [unowned self, unowned head] in self.deadlinePassed(head) }
    }

    /// Loop thread. Looks and judges; false once the connection is settled (handed on,
    /// answered and draining, or closed).
    private func readHead(_ head: PendingHead) -> Bool {
        switch head.peek() {
        case .unchanged: return true
        case .closed: finish(head); return false
        case .grew: break
        }
        switch head.judge() {
        case .needMore:
            head.waitForMore()
            return true
        case .refuse(let status, let code, let message):
            answer(head, status: status, code: code, message: message)
            return false
        case .pass:
            if head.overAddressCap {
                loop.limits.noteRefusedPerAddress()
                answer(head, status: 429, code: "too_many_connections", message: "too many connections from \(head.address)")
                return false
            }
            head.restoreLowWater()
            let socket = AcceptedSocket(fd: head.fd, address: head.address, acceptedAt: head.acceptedAt)
            release(head)
            handOff(socket)
            return false
        }
    }

    private func readable(_ head: PendingHead) {
        switch head.phase {
        case .reading: _ = readHead(head)
        case .draining: if !head.discard() { finish(head) }
        }
    }

    /// The head deadline (still reading) or the drain deadline (answered) passed.
    private func deadlinePassed(_ head: PendingHead) {
        head.timer = nil
        guard head.phase == .reading else { return finish(head) }
        loop.limits.noteDeadlineExpired()
        // Nothing sent at all (a browser's spare connection, say): close without a word.
        guard head.count > 0 else { return finish(head) }
        answer(head, status: 408, code: "request_timeout",
               message: "the request did not arrive within \(loop.config.requestDeadlineSeconds) s")
    }

    /// Answers with a JSON error, shuts the write side and drains until EOF or the drain
    /// deadline, then closes.
    private func answer(_ head: PendingHead, status: Int, code: String, message: String) {
        head.restoreLowWater()
        let body = jsonErrorBody(code: code, message: message)
        let text = "HTTP/1.1 \(status) \(HubLoop.reasonPhrase(status))\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        head.answer(Array(text.utf8) + body)
        head.phase = .draining
        head.timer?.cancel()
        head.timer = loop.schedule(after: Acceptor.drainTime) { [unowned self, unowned head] in self.deadlinePassed(head) }
        if head.watcher == nil {
            let copy = dup(head.fd)
            head.watcher = try? loop.adoptReadable(fd: copy, onReadable: { [unowned self, unowned head] in
                self.readable(head)
            }, onClosed: { [unowned self, unowned head] in
                self.finish(head)
            })
            if head.watcher == nil { close(copy); finish(head) }
        }
    }

    /// Stops watching and forgets `head` without closing its socket (handed on).
    private func release(_ head: PendingHead) {
        head.timer?.cancel()
        head.timer = nil
        head.watcher?.close()
        head.watcher = nil
        pending.removeValue(forKey: ObjectIdentifier(head))
    }

    /// Closes `head`'s socket and gives its address slot back. Idempotent.
    private func finish(_ head: PendingHead) {
        guard pending.removeValue(forKey: ObjectIdentifier(head)) != nil else { return }
        head.timer?.cancel()
        head.timer = nil
        head.watcher?.close()
        head.watcher = nil
        close(head.fd)
        loop.limits.connectionClosed(address: head.address)
    }
}
