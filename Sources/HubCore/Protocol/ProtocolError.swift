/// A protocol violation, answered with an error frame carrying `code`.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable machine-readable codes (docs/PROTOCOL.md); clients switch on them.
    public enum Code: String, Sendable, CaseIterable {
        case badJSON = "bad_json"
        case notObject = "not_object"
        case unknownType = "unknown_type"
        case badTopic = "bad_topic"
        case badSince = "bad_since"
        case tooLarge = "too_large"
        case badUTF8 = "bad_utf8"
        case notFound = "not_found"
        case forbidden = "forbidden"
        case tooManySubscriptions = "too_many_subscriptions"
        case rateLimited = "rate_limited"
        case unavailable = "unavailable"
        case unauthorized = "unauthorized"
    }

    public let code: Code
    public let message: String
    /// The topic the refused message named, echoed in the error frame so a client with
    /// several subscriptions in flight knows which one failed (nil when none was named).
    public let topic: String?

    public init(_ code: Code, _ message: String, topic: String? = nil) {
        self.code = code
        self.message = message
        self.topic = topic
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
