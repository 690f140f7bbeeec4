/// One JSON value from outside, read with Codable without failing on its type: what a
/// parser needs when the type itself is the client's mistake to report (`"since":"5"`,
/// `"topic":7`) or a value to echo with its type (a ping id).
public enum JSONScalar: Sendable, Equatable, Decodable {
    case string(String)
    /// A number with an exact Int64 value (`35`, `5.0`, `1e2`), read from its digits.
    case integer(Int64)
    /// Any other finite number (fractions, integers beyond Int64).
    case number(Double)
    case bool(Bool)
    /// An object, an array, or a number JSON can write but a Double cannot hold.
    case other

    /// Never throws: a value of no scalar type is `.other`. (null arrives as a nil Optional.)
    public init(from decoder: any Decoder) throws {
        guard let c = try? decoder.singleValueContainer() else { self = .other; return }
        // Bool first: JSON's true is never read as a number.
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .integer(i)
        } else if let d = try? c.decode(Double.self), d.isFinite {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            self = .other
        }
    }

    /// The value as JSON text (nil for `.other`: nothing to write back).
    public var json: String? {
        var w = JSONWriter()
        switch self {
        case .string(let s): w.string(s)
        case .integer(let i): w.int64(i)
        case .number(let d): w.double(d)
        case .bool(let b): w.bool(b)
        case .other: return nil
        }
        return String(decoding: w.bytes, as: UTF8.self)
    }
}

/// A body field read leniently: its value when it has type `T`, `.wrongType` otherwise, so
/// a body decoder names every bad field (422) instead of refusing the whole body.
public enum Loose<T: Decodable & Sendable>: Sendable, Decodable {
    case value(T)
    case wrongType

    public init(from decoder: any Decoder) throws {
        if let value = try? T(from: decoder) { self = .value(value) } else { self = .wrongType }
    }

    /// The value, or nil when it had another type.
    public var value: T? {
        if case .value(let v) = self { return v }
        return nil
    }
}
