import Foundation

/// What a WebSocket client subscribes to: its org (run status changes and the running
/// count for the nav badge) or one run (items, sellers, progress, budget warnings).
public enum Topic: Hashable, Sendable, CustomStringConvertible {
    case org
    case run(UUID)

    /// "org" or "run:<uuid>" (either case of hex digits).
    public init?(_ text: String) {
        if text == "org" { self = .org; return }
        // 36 characters exactly: UUID(uuidString:) alone is the judge of the rest.
        guard text.hasPrefix("run:"), text.utf8.count == 40, let id = UUID(uuidString: String(text.dropFirst(4))) else { return nil }
        self = .run(id)
    }

    /// "org" or "run:<lowercase uuid>", as PostgreSQL prints ids, so keys compare as text.
    public var description: String {
        switch self {
        case .org: return "org"
        case .run(let id): return "run:" + id.uuidString.lowercased()
        }
    }
}
