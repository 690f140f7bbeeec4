import Foundation
import HubStore

/// Resolves bearer tokens and session cookies to a principal. Results are cached for a
/// few seconds so WebSocket upgrades (decided synchronously on the loop) rarely touch
/// the database; a revoked token stops working within `ttl`.
final class Authenticator: @unchecked Sendable {
    static let cookieName = "chub_session"

    private let tokens: TokenRepository
    private let ttl: Duration
    private let lock = NSLock()
    // Guarded by `lock`.
    private var cache: [String: (principal: Principal?, until: ContinuousClock.Instant)] = [:]

    init(pool: ConnectionPool, ttl: Duration = .seconds(10)) {
        self.tokens = TokenRepository(pool: pool)
        self.ttl = ttl
    }

    /// The secret presented by a request: `Authorization: Bearer …`, else the session cookie.
    static func secret(authorization: String?, cookie: String?) -> String? {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return String(parts[1]).trimmingCharacters(in: .whitespaces)
            }
            return nil
        }
        guard let cookie else { return nil }
        for pair in cookie.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == cookieName {
                return String(kv[1]).trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The principal for `secret`, nil when unknown or revoked. Throws on database errors.
    func principal(for secret: String) throws -> Principal? {
        let now = ContinuousClock.now
        if let hit = lock.withLock({ cache[secret] }), hit.until > now { return hit.principal }
        let principal = try tokens.tokenAuthenticate(secret: secret)
        lock.withLock {
            if cache.count > 10_000 { cache.removeAll() }
            cache[secret] = (principal, now + ttl)
        }
        return principal
    }
}
