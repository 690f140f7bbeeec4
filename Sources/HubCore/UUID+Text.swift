import Foundation

extension UUID {
    /// The lower-case form PostgreSQL, the API and the logs use (`uuidString` is upper
    /// case, and an id copied from a log line should match the API's byte for byte).
    public var lowercasedString: String { uuidString.lowercased() }
}
