import Foundation

/// What a bearer token grants: an org, a user and permissions.
public struct Principal: Sendable, Equatable {
    public let tokenID: UUID
    public let orgID: UUID
    public let userID: UUID
    public let permissions: Set<String>

    public init(tokenID: UUID, orgID: UUID, userID: UUID, permissions: Set<String>) {
        self.tokenID = tokenID
        self.orgID = orgID
        self.userID = userID
        self.permissions = permissions
    }

    public func has(_ permission: String) -> Bool { permissions.contains(permission) }
}
