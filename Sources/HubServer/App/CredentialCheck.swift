import Foundation
import HubCore
import HubStore

/// Closes WebSocket connections whose credential is no longer live. A connection is
/// authorised once, at the upgrade; this runs from memory (no query) whenever credentials
/// change (a revocation's NOTIFY closes its sockets at once) and periodically for expiry.
enum CredentialCheck {
    /// Loop thread.
    static func sweep(loop: HubLoop, fanOut: FanOut, authenticator: Authenticator) {
        for case let client as ClientState in loop.sessionUserInfos() {
            guard client.session.isOpen, !authenticator.isLive(client.credential) else { continue }
            let (reason, message) = switch client.credential {
            case .token: ("token revoked", "the token was revoked")
            case .session: ("session ended", "the session ended (logged out, expired or its token revoked)")
            }
            fanOut.sendControl(JSONText.error(ProtocolError(.unauthorized, message)), to: client)
            client.session.close(code: CloseCode.unauthorized, reason: reason)
        }
    }
}
