import Foundation

/// Creates and ends browser sessions. The cookie carries a random id; only its SHA-256 is
/// stored, and it stands for the token that logged in (revoking the token ends it).
public struct SessionRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Starts a session for a live token; nil when the token was revoked meanwhile.
    /// Returns the session and its secret, which only the cookie ever holds.
    public func sessionCreate(tokenID: UUID, lifetime: Duration) throws -> (LiveSession, String)? {
        let secret = Self.generateSecret()
        let hash = SHA256.hash(Array(secret.utf8))
        guard let row = try pool.query("""
            INSERT INTO sessions (token_id, session_hash, expires_at)
            SELECT id, $2, now() + make_interval(secs => $3) FROM api_tokens WHERE id = $1 AND revoked_at IS NULL
            RETURNING id, expires_at
            """, [tokenID, PostgresBytes(hash), Int(lifetime.components.seconds)]).first else { return nil }
        return (LiveSession(id: try row.uuid("id"), hash: hash, tokenID: tokenID, expiresAt: try row.date("expires_at")), secret)
    }

    /// Ends the session whose SHA-256 is `hash`; false when it was not live.
    @discardableResult
    public func sessionEnd(hash: [UInt8]) throws -> Bool {
        try pool.query("UPDATE sessions SET ended_at = now() WHERE session_hash = $1 AND ended_at IS NULL",
                       [PostgresBytes(hash)]).affectedRows == 1
    }

    /// "chs_" + 32 random bytes in hex (a different prefix from tokens, so neither is
    /// ever mistaken for the other).
    static func generateSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "chs_" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}
