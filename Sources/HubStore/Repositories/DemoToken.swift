import Foundation
import HubCore

/// The demo org's admin token for `serve --demo`. The secret is kept in a file (mode 0600,
/// inside the embedded cluster's data folder) so every start on the same data prints the
/// same token instead of minting another live admin token each time; the database still
/// only holds its SHA-256.
public enum DemoToken {
    /// Name of the token in `api_tokens`: one per token file, so hubs with different data
    /// folders sharing a database (DATABASE_URL) never revoke each other's. `serve --demo`
    /// of older versions named each start's token "make run <date>".
    static func name(for file: URL) -> String { String("demo admin \(file.standardizedFileURL.path)".prefix(200)) }
    static let legacyNamePrefix = "make run "
    /// The demo org's slug.
    public static let orgSlug = "demo"

    /// Returns the demo admin token recorded in `file` if it is still live in this
    /// database; otherwise revokes the demo user's previous demo tokens (this file's lost
    /// one and the per-start ones of older versions), mints one and records it.
    public static func ensure(pool: ConnectionPool, file: URL) throws -> String {
        let orgs = OrgRepository(pool: pool)
        let org = try orgs.orgFind(orgSlug) ?? orgs.orgCreate(name: "Demo Reselling Co", slug: orgSlug)
        let user = try orgs.userEnsure(email: "admin@demo.example", displayName: "Demo Admin")
        let tokens = TokenRepository(pool: pool)
        if let secret = try? String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines),
           !secret.isEmpty, secret.utf8.count <= 256,
           try pool.query("""
               SELECT 1 AS live FROM api_tokens
               WHERE token_hash = $1 AND org_id = $2 AND revoked_at IS NULL AND $3 = ANY(permissions)
               """, [PostgresBytes(SHA256.hash(Array(secret.utf8))), org.id, Permission.adminAutomation]).first != nil {
            return secret
        }
        try pool.query("""
            UPDATE api_tokens SET revoked_at = now()
            WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL AND (name = $3 OR starts_with(name, $4))
            """, [org.id, user.id, name(for: file), legacyNamePrefix])
        let (_, secret) = try tokens.tokenCreate(orgID: org.id, userID: user.id, name: name(for: file),
                                                 permissions: [Permission.adminAutomation])
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        // Created private before the secret is written into it.
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw StoreError.invalid("cannot write the demo token file \(file.path)") }
        defer { close(fd) }
        let bytes = Array((secret + "\n").utf8)
        guard write(fd, bytes, bytes.count) == bytes.count else { throw StoreError.invalid("cannot write the demo token file \(file.path)") }
        return secret
    }
}
