import Foundation

/// An organisation (tenant).
public struct OrgRecord: Sendable, Codable, Equatable {
    public let id: UUID
    public let name: String
    public let slug: String
    public let createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, slug
        case createdAt = "created_at"
    }
}

/// A user: stands in for Supabase's auth.users.
public struct UserRecord: Sendable, Codable, Equatable {
    public let id: UUID
    public let email: String
    public let displayName: String

    enum CodingKeys: String, CodingKey {
        case id, email
        case displayName = "display_name"
    }
}

/// Orgs and users: create and look up.
public struct OrgRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// Creates an org; the slug defaults to the name lower-cased with dashes.
    public func orgCreate(name: String, slug: String? = nil) throws -> OrgRecord {
        let slug = slug ?? Self.slugify(name)
        do {
            return try decodeOrg(pool.query(
                "INSERT INTO orgs (name, slug) VALUES ($1, $2) RETURNING id, name, slug, created_at", [name, slug]).first!)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw StoreError.conflict("an org with slug \(slug) already exists")
        } catch let error as PostgresError where error.sqlState == "23514" {
            throw StoreError.invalid("org name must be 1-200 characters and the slug lowercase letters, digits and dashes")
        }
    }

    /// Every org, by slug (the operator's `org list`).
    public func orgList() throws -> [OrgRecord] {
        try pool.query("SELECT id, name, slug, created_at FROM orgs ORDER BY slug, id").rows.map(decodeOrg)
    }

    /// Finds an org by id (UUID text) or slug.
    public func orgFind(_ idOrSlug: String) throws -> OrgRecord? {
        let row: PostgresRow?
        if let id = UUID(uuidString: idOrSlug) {
            row = try pool.query("SELECT id, name, slug, created_at FROM orgs WHERE id = $1", [id]).first
        } else {
            row = try pool.query("SELECT id, name, slug, created_at FROM orgs WHERE slug = $1", [idOrSlug]).first
        }
        return try row.map(decodeOrg)
    }

    /// The user with `email`, created when missing.
    public func userEnsure(email: String, displayName: String) throws -> UserRecord {
        let row = try pool.query("""
            INSERT INTO users (email, display_name) VALUES ($1, $2)
            ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
            RETURNING id, email, display_name
            """, [email, displayName]).first!
        return UserRecord(id: try row.uuid("id"), email: try row.string("email"), displayName: try row.string("display_name"))
    }

    static func slugify(_ name: String) -> String {
        let lowered = name.lowercased().map { $0.isLetter && $0.isASCII || $0.isNumber && $0.isASCII ? $0 : "-" }
        let collapsed = String(lowered).split(separator: "-").joined(separator: "-")
        return String(collapsed.prefix(63)).isEmpty ? "org" : String(collapsed.prefix(63))
    }

    private func decodeOrg(_ row: PostgresRow) throws -> OrgRecord {
        OrgRecord(id: try row.uuid("id"), name: try row.string("name"), slug: try row.string("slug"),
                  createdAt: try row.date("created_at"))
    }
}

/// A store-level failure the API maps to an HTTP status.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    case notFound(String)
    case conflict(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .notFound(let s), .conflict(let s), .invalid(let s): return s
        }
    }
}
