import Foundation
import HubCore
import HubStore
import Logging

/// The collection-hub.v1 protocol over the transport: authenticates the upgrade (401
/// before upgrading), checks Origin, parses client messages and hands subscriptions to
/// the fan-out. Loop thread.
final class WebSocketProtocol: WebSocketHandler {
    let fanOut: FanOut
    let authenticator: Authenticator
    let config: HubConfig
    let logger: Logger
    /// Messages a client may send per second before it is closed (subscribe floods).
    let maxMessagesPerSecond = 50
    /// Open sessions per API token, for `HubConfig.maxWebSocketsPerToken`.
    private var socketsPerToken: [UUID: Int] = [:]

    init(fanOut: FanOut, authenticator: Authenticator, config: HubConfig, logger: Logger) {
        self.fanOut = fanOut
        self.authenticator = authenticator
        self.config = config
        self.logger = logger
    }

    /// Decided from memory (no query): an upgrade never makes the loop wait.
    func shouldAccept(_ request: UpgradeRequest) -> UpgradeDecision {
        if let origin = request.header("origin"), !originAllowed(origin, host: request.header("host")) {
            return .rejectJSON(status: 403, code: "origin_not_allowed", message: "origin \(origin.prefix(100)) may not open the WebSocket")
        }
        // A token offered as a subprotocol counts as a bearer token: same table, no cookie rules.
        let offered = request.header("authorization") == nil ? Self.subprotocolToken(request.requestedSubprotocols) : nil
        guard let presented = offered.map(Authenticator.Presented.bearer)
            ?? Authenticator.presented(authorization: request.header("authorization"), cookie: request.header("cookie")) else {
            return .rejectJSON(status: 401, code: "unauthorized", message: "send Authorization: Bearer <token> or log in first")
        }
        if case .cookie = presented, let refusal = requestGuard.checkHost(request.header("host")) {
            return .rejectJSON(status: refusal.status, code: refusal.code, message: refusal.message)
        }
        switch authenticator.authenticate(presented) {
        case .missing, .unknown:
            return .rejectJSON(status: 401, code: "unauthorized", message: "the token or session is unknown or revoked, or expired")
        case .unavailable:
            return .rejectJSON(status: 503, code: "unavailable", message: "the hub has not loaded credentials yet; retry")
        case .authenticated(let principal, let credential):
            guard principal.has(Permission.adminAutomation) || principal.has(Permission.collectionView) else {
                return .rejectJSON(status: 403, code: "forbidden", message: "the token has no collection permission")
            }
            if config.maxWebSocketsPerToken > 0, (socketsPerToken[principal.tokenID] ?? 0) >= config.maxWebSocketsPerToken {
                fanOut.metrics.webSocketsRefusedPerToken += 1
                return .rejectJSON(status: 429, code: "too_many_connections",
                                   message: "this token already has \(config.maxWebSocketsPerToken) WebSocket connections open")
            }
            return .accept(userInfo: PrincipalBox(principal, credential))
        }
    }

    var requestGuard: RequestGuard {
        RequestGuard(allowedOrigins: config.allowedOrigins, bindHost: config.host, port: fanOut.loop?.boundPort ?? config.port)
    }

    /// A token offered as the subprotocol `bearer.<token>` next to collection-hub.v1: a browser
    /// cannot set `Authorization` on a WebSocket, and an embedded `<collection-status>` on
    /// another origin has no session cookie of ours. lws answers with collection-hub.v1, so
    /// the token is never echoed back.
    static func subprotocolToken(_ offered: String?) -> String? {
        guard let offered else { return nil }
        for entry in offered.split(separator: ",") {
            let name = entry.trimmingCharacters(in: .whitespaces)
            if name.hasPrefix("bearer."), name.count > 7 { return String(name.dropFirst(7)) }
        }
        return nil
    }

    /// The server's own origin (from Host) is always allowed, plus the configured ones.
    func originAllowed(_ origin: String, host: String?) -> Bool {
        if config.allowedOrigins.contains(origin) { return true }
        guard let host else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    func didOpen(_ session: WebSocketSession) {
        guard let box = session.userInfo as? PrincipalBox else {
            session.close(code: CloseCode.unauthorized, reason: "unauthorized")
            return
        }
        // The captured credentials are no longer needed: keep per-connection memory small.
        session.forgetCapturedHeaders()
        socketsPerToken[box.principal.tokenID, default: 0] += 1
        let client = ClientState(session: session, principal: box.principal, credential: box.credential)
        session.userInfo = client
        fanOut.metrics.connectionsOpened += 1
        fanOut.metrics.connectionsOpen += 1
        fanOut.sendControl(JSONText.hello(org: box.principal.orgID.uuidString.lowercased(), maxFrameBytes: config.maxFrameBytes,
                                          permissions: box.principal.permissions.sorted()), to: client)
    }

    func didReceive(_ session: WebSocketSession, text: UnsafeRawBufferPointer) {
        guard let client = session.userInfo as? ClientState else { return }
        let now = ContinuousClock.now
        if now - client.windowStart > .seconds(1) {
            client.windowStart = now
            client.windowMessages = 0
        }
        client.windowMessages += 1
        if client.windowMessages > maxMessagesPerSecond {
            fanOut.sendControl(JSONText.error(ProtocolError(.rateLimited, "more than \(maxMessagesPerSecond) messages a second")), to: client)
            session.close(code: CloseCode.policyViolation, reason: "message flood")
            return
        }
        let message: ClientMessage
        do {
            message = try ClientMessage.parse(text)
        } catch {
            fanOut.sendControl(JSONText.error(error, topic: error.topic), to: client)
            return
        }
        switch message {
        case .subscribe(let topic, let since):
            fanOut.subscribe(client, topic, since: since)
        case .unsubscribe(let topic):
            fanOut.unsubscribe(client, topic)
        case .ping(let id):
            fanOut.sendControl(JSONText.pong(id: id), to: client)
        }
    }

    func didClose(_ session: WebSocketSession) {
        guard let client = session.userInfo as? ClientState else { return }
        fanOut.metrics.connectionsOpen -= 1
        let token = client.principal.tokenID
        if let n = socketsPerToken[token] { socketsPerToken[token] = n > 1 ? n - 1 : nil }
        fanOut.clientClosed(client)
        session.userInfo = nil
    }
}

/// A principal attached to a session between the upgrade decision and `didOpen`.
final class PrincipalBox {
    let principal: Principal
    let credential: Credential
    init(_ principal: Principal, _ credential: Credential) {
        self.principal = principal
        self.credential = credential
    }
}
