import Foundation

/// Completes one HTTP request. Thread-safe: `respond` may be called from any thread;
/// only the first call counts. A response to a client that already disconnected is
/// silently dropped. If the responder is released without responding, a 500 is sent.
// @unchecked Sendable: `completed` is guarded by `lock`; delivery posts to the loop thread.
public final class HTTPResponder: @unchecked Sendable {
    private let lock = NSLock()
    private var completed = false
    private weak var loop: HubLoop?
    private let transaction: LoopBound<HTTPTransaction>

    /// Loop thread (created when a request is dispatched).
    init(loop: HubLoop, transaction: HTTPTransaction) {
        self.loop = loop
        self.transaction = LoopBound(transaction)
    }

    deinit {
        if !completed {
            deliver(status: 500, headers: [("Content-Type", "application/json")],
                    body: jsonErrorBody(code: "internal", message: "no response produced"))
        }
    }

    /// True once `respond` has been called.
    public var isCompleted: Bool {
        lock.lock(); defer { lock.unlock() }
        return completed
    }

    /// Sends the response: status line, `headers` (name, value) and `body`. The transport
    /// adds Content-Length (and Connection when needed); a `Content-Type` header is
    /// honoured. For HEAD requests the body is measured but not sent. Any thread; second
    /// and later calls are ignored.
    public func respond(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        lock.lock()
        if completed { lock.unlock(); return }
        completed = true
        lock.unlock()
        deliver(status: status, headers: headers, body: body)
    }

    /// Convenience: a JSON body with `Content-Type: application/json`.
    public func respondJSON(status: Int, _ json: [UInt8], headers: [(String, String)] = []) {
        respond(status: status, headers: [("Content-Type", "application/json")] + headers, body: json)
    }

    /// Convenience: `{"error":{"code":…,"message":…}}` with the given status.
    public func respondError(status: Int, code: String, message: String) {
        respondJSON(status: status, jsonErrorBody(code: code, message: message))
    }

    /// Loop thread: the connection this response was for has gone (what tests wait on).
    var isAbandoned: Bool { transaction.value.state == .abandoned }

    /// Any thread: applies directly on the loop thread, else posts to it.
    private func deliver(status: Int, headers: [(String, String)], body: [UInt8]) {
        guard let loop else { return }
        let transaction = self.transaction
        if loop.isOnLoop {
            loop.startResponse(transaction.value, status: status, headers: headers, body: body)
        } else {
            loop.post { [weak loop] in
                loop?.startResponse(transaction.value, status: status, headers: headers, body: body)
            }
        }
    }
}
