import Foundation
import HubCore

/// A Swift value that can be sent as a text-format query parameter.
public protocol PostgresBindable: Sendable {
    /// The parameter in PostgreSQL's text input format.
    var postgresText: String { get }
}

extension String: PostgresBindable { public var postgresText: String { self } }
extension Int: PostgresBindable { public var postgresText: String { String(self) } }
extension Int32: PostgresBindable { public var postgresText: String { String(self) } }
extension Int64: PostgresBindable { public var postgresText: String { String(self) } }
extension Double: PostgresBindable { public var postgresText: String { String(self) } }
extension Bool: PostgresBindable { public var postgresText: String { self ? "t" : "f" } }
extension UUID: PostgresBindable { public var postgresText: String { uuidString.lowercased() } }

extension Date: PostgresBindable {
    public var postgresText: String { PostgresTimestamp.format(self) }
}

extension Array: PostgresBindable where Element == String {
    /// A one-dimensional text[] literal; every element quoted so commas and braces are data.
    public var postgresText: String { PostgresArray(map { Optional($0) }).postgresText }
}

/// Raw bytes sent as bytea in hex form.
public struct PostgresBytes: PostgresBindable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var postgresText: String {
        let digits: [Character] = Array("0123456789abcdef")
        var s = "\\x"
        s.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 0xF)])
        }
        return s
    }
}

/// A JSON document sent as text; cast it in SQL ($1::jsonb).
public struct PostgresJSON: PostgresBindable {
    public var text: String
    public init(text: String) { self.text = text }
    public init<T: Encodable>(encoding value: T) throws {
        self.text = String(decoding: try JSONWriter.encoded(value), as: UTF8.self)
    }
    public var postgresText: String { text }
}

/// Formats and parses PostgreSQL timestamptz text (ISO style, any offset).
enum PostgresTimestamp {
    /// Microseconds, PostgreSQL's own resolution: a value read back and sent again (a page
    /// cursor) must compare equal to the stored one, which milliseconds would not.
    static func format(_ date: Date) -> String {
        let micros = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
        let (seconds, fraction) = micros.quotientAndRemainder(dividingBy: 1_000_000)
        let (wholeSeconds, sub) = fraction < 0 ? (seconds - 1, fraction + 1_000_000) : (seconds, fraction)
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: false, timeZone: .gmt)
        let whole = Date(timeIntervalSince1970: Double(wholeSeconds)).formatted(style)  // …T14:30:00Z
        let digits = String(sub)
        return whole.dropLast() + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
    }

    /// Parses "2026-01-20 14:30:00.123456+00" and the variants PostgreSQL prints.
    static func parse(_ text: String) -> Date? {
        var s = text
        if let space = s.firstIndex(of: " ") { s.replaceSubrange(space...space, with: "T") }
        // Offsets come as +00 or +05:30; ISO 8601 wants +00:00.
        if let signIndex = s.lastIndex(where: { $0 == "+" || $0 == "-" }),
           s.distance(from: s.startIndex, to: signIndex) > 10 {
            let offset = s[s.index(after: signIndex)...]
            if offset.count == 2 { s += ":00" }
        }
        var fraction = 0.0
        if let dot = s.firstIndex(of: ".") {
            let tail = s[s.index(after: dot)...]
            let digits = tail.prefix(while: { $0.isNumber })
            fraction = Double("0." + digits) ?? 0
            s.removeSubrange(dot..<tail.index(tail.startIndex, offsetBy: digits.count))
        }
        guard let base = try? Date(s, strategy: .iso8601) else { return nil }
        return base.addingTimeInterval(fraction)
    }
}

/// A one-dimensional array of any element type, NULLs allowed; cast it in SQL ($1::int[]).
public struct PostgresArray: PostgresBindable {
    public var elements: [String?]
    public init(_ elements: [String?]) { self.elements = elements }
    public init<T: PostgresBindable>(_ values: [T?]) { elements = values.map { $0?.postgresText } }
    public var postgresText: String {
        var out = "{"
        for (i, element) in elements.enumerated() {
            if i > 0 { out += "," }
            guard let element else { out += "NULL"; continue }
            out += "\""
            for ch in element.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }
}
