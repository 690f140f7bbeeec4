import Foundation
import HubCore
import HubStore

/// Closes WebSocket connections whose token has been revoked. A connection is authorised
/// once, at the upgrade; without a re-check a revoked token would keep its live stream for
/// as long as the socket stays open.
final class CredentialCheck: @unchecked Sendable {
    private let tokens: TokenRepository
    private let db = DispatchQueue(label: "collection-hub.credential-check")
    // Loop thread only.
    private var inFlight = false

    init(pool: ConnectionPool) { tokens = TokenRepository(pool: pool) }

    /// Loop thread: reads which of the open connections' tokens are still live, then closes
    /// the others with 4401. A database that cannot answer closes nothing.
    func run(loop: HubLoop, fanOut: FanOut) {
        guard !inFlight else { return }
        let clients = loop.sessions.values.compactMap { $0.userInfo as? ClientState }
        let ids = Array(Set(clients.map(\.principal.tokenID)))
        guard !ids.isEmpty else { return }
        inFlight = true
        let box = UncheckedBox((loop, fanOut, clients))
        db.async { [self] in
            let live = try? tokens.tokensLive(ids)
            box.value.0.post { [self] in
                inFlight = false
                guard let live else { return }
                let (_, fanOut, clients) = box.value
                for client in clients where !live.contains(client.principal.tokenID) && client.session.isOpen {
                    fanOut.sendControl(JSONText.error(ProtocolError(.unauthorized, "the token was revoked")), to: client)
                    client.session.close(code: CloseCode.unauthorized, reason: "token revoked")
                }
            }
        }
    }
}
