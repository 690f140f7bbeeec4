/// One invalid field and why, named as the API and the form name it.
public struct FieldError: Sendable, Codable, Equatable {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// Validation failures, by field.
public struct FieldErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let errors: [FieldError]

    public init(errors: [FieldError]) { self.errors = errors }

    public var description: String { errors.map(\.message).joined(separator: "; ") }
}
