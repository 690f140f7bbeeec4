import CLibWebSockets
import Foundation

/// One deadline for a whole HTTP request (headers + body). The first request's head is
/// bounded by the `Acceptor`; this covers the rest. Loop thread.
extension HubLoop {
    /// Headers just completed: schedules the request's deadline. The first request on a
    /// connection counts from the accept (its head was part of the same budget);
    /// a keep-alive request counts from its headers, whose own arrival lws's header timer
    /// bounds (an idle keep-alive wait is not the request's time).
    func armRequestDeadline(_ transaction: HTTPTransaction, session: HTTPSession, connection: Connection) {
        let budget = Duration.seconds(config.requestDeadlineSeconds)
        let elapsed: Duration = session.firstRequest ? ContinuousClock.now - connection.acceptedAt : .zero
        session.firstRequest = false
        let remaining = max(budget - elapsed, .milliseconds(1))
        transaction.limits = limits
        transaction.deadline = schedule(after: remaining) { [weak self, weak transaction] in
            guard let self, let transaction else { return }
            self.requestDeadlineExpired(transaction)
        }
    }

    /// The request is still incomplete at its deadline: 408 and close. The response is
    /// written at the next writeable callback; lws's own kill timer backs it up in case the
    /// client does not read either.
    private func requestDeadlineExpired(_ transaction: HTTPTransaction) {
        transaction.deadline = nil
        guard transaction.state == .admitting || transaction.state == .receivingBody,
              let wsi = transaction.connection?.wsi else { return }
        limits.noteDeadlineExpired()
        startResponse(transaction, status: 408, headers: [("Content-Type", "application/json")],
                      body: jsonErrorBody(code: "request_timeout",
                                          message: "the request did not arrive within \(config.requestDeadlineSeconds) s"),
                      closeAfter: true)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, Int32(clamping: max(2, config.ioTimeoutSeconds / 4)))
    }

    /// Counters for /metrics. Loop thread.
    public var transportStats: TransportStats {
        preconditionOnLoop()
        return limits.stats
    }
}
