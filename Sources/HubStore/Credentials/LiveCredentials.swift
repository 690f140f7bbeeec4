import Foundation
import HubCore

/// A live API token as a hub holds it in memory, keyed by the SHA-256 of its secret.
public struct LiveToken: Sendable, Equatable {
    public let hash: [UInt8]
    public let principal: Principal
    public init(hash: [UInt8], principal: Principal) {
        self.hash = hash
        self.principal = principal
    }
}

/// A live browser session: the SHA-256 of its opaque id, the token it stands for, its end.
public struct LiveSession: Sendable, Equatable {
    public let id: UUID
    public let hash: [UInt8]
    public let tokenID: UUID
    public let expiresAt: Date
    public init(id: UUID, hash: [UInt8], tokenID: UUID, expiresAt: Date) {
        self.id = id
        self.hash = hash
        self.tokenID = tokenID
        self.expiresAt = expiresAt
    }
}

/// Every live credential as of one transaction (what a hub loads at start and after a
/// LISTEN reconnect).
public struct CredentialSnapshot: Sendable {
    public let tokens: [LiveToken]
    public let sessions: [LiveSession]
}
