import Foundation
import HubCore
import HubStore

/// How a request or connection proved who it is: a bearer token or a browser session.
enum Credential: Hashable {
    case token(UUID)
    /// SHA-256 of the session id.
    case session(hash: [UInt8])
}

/// Live credentials in memory: SHA-256 of a secret → who it is. Pure data (no I/O, no
/// lock); the Authenticator owns it on the loop thread.
struct CredentialTable {
    private var tokenIDByHash: [[UInt8]: UUID] = [:]
    private var tokens: [UUID: LiveToken] = [:]
    private var sessions: [[UInt8]: LiveSession] = [:]

    init() {}

    init(_ snapshot: CredentialSnapshot) {
        for token in snapshot.tokens { put(token) }
        for session in snapshot.sessions { sessions[session.hash] = session }
    }

    var tokenCount: Int { tokens.count }
    var sessionCount: Int { sessions.count }

    /// The principal of the live token whose secret hashes to `hash`.
    func token(hash: [UInt8]) -> Principal? {
        tokenIDByHash[hash].flatMap { tokens[$0]?.principal }
    }

    /// The principal of the unexpired session whose id hashes to `hash` (its token's).
    func session(hash: [UInt8], now: Date) -> Principal? {
        guard let session = sessions[hash], session.expiresAt > now else { return nil }
        return tokens[session.tokenID]?.principal
    }

    func isLive(_ credential: Credential, now: Date) -> Bool {
        switch credential {
        case .token(let id): return tokens[id] != nil
        case .session(let hash): return session(hash: hash, now: now) != nil
        }
    }

    mutating func apply(_ change: CredentialChange) {
        switch change {
        case .token(let token, let live):
            remove(tokenID: token.principal.tokenID)
            tokenIDByHash.removeValue(forKey: token.hash)
            if live { put(token) }
        case .session(let session, let live):
            if live { sessions[session.hash] = session } else { sessions.removeValue(forKey: session.hash) }
        }
    }

    mutating func removeSession(hash: [UInt8]) { sessions.removeValue(forKey: hash) }

    /// Drops expired sessions (they already fail lookups; this returns their memory).
    mutating func pruneExpired(now: Date) {
        sessions = sessions.filter { $0.value.expiresAt > now }
    }

    private mutating func put(_ token: LiveToken) {
        tokens[token.principal.tokenID] = token
        tokenIDByHash[token.hash] = token.principal.tokenID
    }

    private mutating func remove(tokenID: UUID) {
        if let old = tokens.removeValue(forKey: tokenID) { tokenIDByHash.removeValue(forKey: old.hash) }
    }
}
