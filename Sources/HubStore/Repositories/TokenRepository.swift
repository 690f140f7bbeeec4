import Foundation
import HubCore

/// An API token as listed (never the secret itself).
public struct TokenRecord: Sendable, Codable, Equatable {
    public let id: UUID
    public let orgID: UUID
    public let userID: UUID
    public let name: String
    public let permissions: [String]
    public let createdAt: Date
    public let lastUsedAt: Date?
    public let revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, permissions
        case orgID = "org_id"
        case userID = "user_id"
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
        case revokedAt = "revoked_at"
    }
}

/// Creates, lists, revokes and authenticates API tokens. Only SHA-256 hashes are stored.
public struct TokenRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Creates a token and returns its record and the secret, which is shown once.
    public func tokenCreate(orgID: UUID, userID: UUID, name: String, permissions: [String]) throws -> (TokenRecord, String) {
        if let unknown = permissions.first(where: { !Permission.all.contains($0) }) {
            throw StoreError.invalid("unknown permission \(unknown); use \(Permission.all.sorted().joined(separator: " or "))")
        }
        let secret = Self.generateSecret()
        let row = try pool.query("""
            INSERT INTO api_tokens (org_id, user_id, name, token_hash, permissions)
            VALUES ($1, $2, $3, $4, $5)
            RETURNING id, org_id, user_id, name, permissions, created_at, last_used_at, revoked_at
            """, [orgID, userID, name, PostgresBytes(SHA256.hash(Array(secret.utf8))), permissions]).first!
        return (try decode(row), secret)
    }

    /// Tokens of one org, newest first.
    public func tokenList(orgID: UUID) throws -> [TokenRecord] {
        try pool.query("""
            SELECT id, org_id, user_id, name, permissions, created_at, last_used_at, revoked_at
            FROM api_tokens WHERE org_id = $1 ORDER BY created_at DESC
            """, [orgID]).rows.map(decode)
    }

    /// Revokes a token of `orgID`; false if there is no such live token.
    public func tokenRevoke(orgID: UUID, tokenID: UUID) throws -> Bool {
        try pool.query("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND org_id = $2 AND revoked_at IS NULL",
                       [tokenID, orgID]).affectedRows == 1
    }

    /// "chub_" + 32 random bytes in hex.
    static func generateSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return "chub_" + bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }

    private func decode(_ row: PostgresRow) throws -> TokenRecord {
        TokenRecord(id: try row.uuid("id"), orgID: try row.uuid("org_id"), userID: try row.uuid("user_id"),
                    name: try row.string("name"), permissions: try row.stringArray("permissions"),
                    createdAt: try row.date("created_at"), lastUsedAt: try row.optionalDate("last_used_at"),
                    revokedAt: try row.optionalDate("revoked_at"))
    }
}
