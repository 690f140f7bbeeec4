import Foundation
import HubCore

/// Reads every live credential for a hub's memory and records token use. Workers only.
public struct CredentialRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Live tokens and unexpired sessions, read in one snapshot so the two agree.
    public func snapshot() throws -> CredentialSnapshot {
        try pool.withTransaction { c in
            try c.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            let tokens = try c.query("""
                SELECT id, org_id, user_id, permissions, token_hash FROM api_tokens WHERE revoked_at IS NULL
                """).rows.map { row in
                LiveToken(hash: try row.bytea("token_hash"),
                          principal: Principal(tokenID: try row.uuid("id"), orgID: try row.uuid("org_id"),
                                               userID: try row.uuid("user_id"), permissions: Set(try row.stringArray("permissions"))))
            }
            let sessions = try c.query("""
                SELECT id, token_id, session_hash, expires_at FROM sessions
                WHERE ended_at IS NULL AND expires_at > now()
                """).rows.map { row in
                LiveSession(id: try row.uuid("id"), hash: try row.bytea("session_hash"),
                            tokenID: try row.uuid("token_id"), expiresAt: try row.date("expires_at"))
            }
            return CredentialSnapshot(tokens: tokens, sessions: sessions)
        }
    }

    /// Sets last_used_at for `tokenIDs` at minute resolution (a token used all day costs one
    /// write a minute). Batched by the hub on a worker; nothing waits for it.
    public func touchLastUsed(_ tokenIDs: [UUID]) throws {
        guard !tokenIDs.isEmpty else { return }
        try pool.query("""
            UPDATE api_tokens SET last_used_at = now()
            WHERE id = ANY($1::uuid[]) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
            """, [PostgresArray(tokenIDs.map { Optional($0) })])
    }
}
