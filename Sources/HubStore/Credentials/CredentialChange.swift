import Foundation
import HubCore

/// One credential NOTIFY from migration 006: the new state of a token or session row.
/// `live` false means revoked, ended or deleted.
public enum CredentialChange: Sendable, Equatable {
    case token(LiveToken, live: Bool)
    case session(LiveSession, live: Bool)

    /// The channel the credential triggers notify on (kept apart from the item fan-out).
    public static let channel = "collection_hub_auth"

    private struct Wire: Decodable {
        let k: String
        let id: UUID
        let hash: String
        let live: Bool
        let org: UUID?
        let user: UUID?
        let perms: [String]?
        let token: UUID?
        let expires: Double?
    }

    /// Decodes a payload; nil when it is not one of ours.
    public static func parse(_ payload: [UInt8]) -> CredentialChange? {
        guard let w = try? JSONDecoder().decode(Wire.self, from: Data(payload)),
              let hash = hexDecode(w.hash), hash.count == 32 else { return nil }
        switch w.k {
        case "token":
            guard let org = w.org, let user = w.user else { return nil }
            let principal = Principal(tokenID: w.id, orgID: org, userID: user, permissions: Set(w.perms ?? []))
            return .token(LiveToken(hash: hash, principal: principal), live: w.live)
        case "session":
            guard let token = w.token, let expires = w.expires else { return nil }
            return .session(LiveSession(id: w.id, hash: hash, tokenID: token,
                                        expiresAt: Date(timeIntervalSince1970: expires)), live: w.live)
        default:
            return nil
        }
    }
}
