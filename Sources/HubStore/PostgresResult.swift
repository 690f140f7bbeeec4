import CLibPQ
import Foundation

/// The rows of one statement, decoded from text format. Owns the PGresult until deinit.
// @unchecked Sendable: immutable after init; the PGresult it owns is only read (libpq allows concurrent reads of a result).
public final class PostgresResult: @unchecked Sendable {
    private let result: OpaquePointer
    /// Number of rows returned.
    public let count: Int
    /// Column names in order.
    public let columns: [String]
    private let index: [String: Int]

    init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        let n = Int(PQnfields(result))
        var names: [String] = []
        names.reserveCapacity(n)
        for i in 0..<n { names.append(String(cString: PQfname(result, Int32(i)))) }
        columns = names
        index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        // rows affected by UPDATE/DELETE/INSERT without RETURNING
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    /// Rows changed by INSERT/UPDATE/DELETE (PQcmdTuples).
    public let affectedRows: Int

    /// The row at `i`.
    public subscript(i: Int) -> PostgresRow { PostgresRow(result: self, row: i) }

    /// All rows, for `for row in result.rows`.
    public var rows: [PostgresRow] { (0..<count).map { self[$0] } }

    /// The first row, if any.
    public var first: PostgresRow? { count > 0 ? self[0] : nil }

    func columnIndex(_ name: String) throws -> Int {
        guard let i = index[name] else {
            throw PostgresError(code: .decoding, message: "no column \(name) in result (\(columns.joined(separator: ", ")))")
        }
        return i
    }

    func text(row: Int, column: Int) -> String? {
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
        guard let p = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        return p.withMemoryRebound(to: UInt8.self, capacity: length) {
            String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
        }
    }

    func bytes(row: Int, column: Int) -> [UInt8]? {
        if PQgetisnull(result, Int32(row), Int32(column)) == 1 { return nil }
        guard let p = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        return p.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }
}

/// One row of a result; typed accessors throw a decoding error naming the column.
public struct PostgresRow {
    let result: PostgresResult
    let row: Int

    /// The raw text of a column, nil for SQL NULL.
    public func optionalString(_ column: String) throws -> String? {
        result.text(row: row, column: try result.columnIndex(column))
    }

    /// The raw UTF-8 bytes of a column, nil for SQL NULL (no String round trip).
    public func optionalBytes(_ column: String) throws -> [UInt8]? {
        result.bytes(row: row, column: try result.columnIndex(column))
    }

    public func string(_ column: String) throws -> String {
        guard let s = try optionalString(column) else { throw nullError(column) }
        return s
    }

    public func optionalInt(_ column: String) throws -> Int? {
        guard let s = try optionalString(column) else { return nil }
        guard let v = Int(s) else { throw typeError(column, "integer", s) }
        return v
    }

    public func int(_ column: String) throws -> Int {
        guard let v = try optionalInt(column) else { throw nullError(column) }
        return v
    }

    public func int64(_ column: String) throws -> Int64 { Int64(try int(column)) }

    public func optionalBool(_ column: String) throws -> Bool? {
        guard let s = try optionalString(column) else { return nil }
        switch s {
        case "t", "true": return true
        case "f", "false": return false
        default: throw typeError(column, "boolean", s)
        }
    }

    public func bool(_ column: String) throws -> Bool {
        guard let v = try optionalBool(column) else { throw nullError(column) }
        return v
    }

    public func optionalUUID(_ column: String) throws -> UUID? {
        guard let s = try optionalString(column) else { return nil }
        guard let v = UUID(uuidString: s) else { throw typeError(column, "uuid", s) }
        return v
    }

    public func uuid(_ column: String) throws -> UUID {
        guard let v = try optionalUUID(column) else { throw nullError(column) }
        return v
    }

    public func optionalDate(_ column: String) throws -> Date? {
        guard let s = try optionalString(column) else { return nil }
        guard let v = PostgresTimestamp.parse(s) else { throw typeError(column, "timestamptz", s) }
        return v
    }

    public func date(_ column: String) throws -> Date {
        guard let v = try optionalDate(column) else { throw nullError(column) }
        return v
    }

    /// A one-dimensional text[] column.
    public func stringArray(_ column: String) throws -> [String] {
        guard let s = try optionalString(column) else { return [] }
        guard let v = PostgresArrayParser.parse(s) else { throw typeError(column, "text[]", s) }
        return v
    }

    /// A bytea column (hex output format).
    public func bytea(_ column: String) throws -> [UInt8] {
        let s = try string(column)
        guard s.hasPrefix("\\x"), let v = hexDecode(s.dropFirst(2)) else { throw typeError(column, "bytea", s) }
        return v
    }

    /// A json/jsonb column decoded into `T`.
    public func json<T: Decodable>(_ column: String, as type: T.Type) throws -> T? {
        guard let s = try optionalString(column) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: Data(s.utf8))
        } catch {
            throw PostgresError(code: .decoding, message: "column \(column): \(error)")
        }
    }

    private func nullError(_ column: String) -> PostgresError {
        PostgresError(code: .decoding, message: "column \(column) is NULL")
    }

    private func typeError(_ column: String, _ type: String, _ value: String) -> PostgresError {
        PostgresError(code: .decoding, message: "column \(column): \(value.prefix(40)) is not a \(type)")
    }
}

/// Parses PostgreSQL's text output of one-dimensional arrays: {a,"b c",NULL}.
enum PostgresArrayParser {
    static func parse(_ text: String) -> [String]? {
        let chars = Array(text.unicodeScalars)
        guard chars.first == "{", chars.last == "}" else { return nil }
        var out: [String] = []
        var i = 1
        let end = chars.count - 1
        if i == end { return [] }
        while i < end {
            var element = String.UnicodeScalarView()
            if chars[i] == "\"" {
                i += 1
                while i < end, chars[i] != "\"" {
                    if chars[i] == "\\" { i += 1 }
                    if i < end { element.append(chars[i]) }
                    i += 1
                }
                i += 1  // closing quote
            } else {
                while i < end, chars[i] != "," { element.append(chars[i]); i += 1 }
            }
            out.append(String(element))
            if i < end, chars[i] == "," { i += 1 }
        }
        return out
    }
}

func hexDecode<S: StringProtocol>(_ s: S) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count / 2)
    var high: UInt8?
    for c in s.utf8 {
        let v: UInt8
        switch c {
        case 48...57: v = c - 48
        case 97...102: v = c - 87
        case 65...70: v = c - 55
        default: return nil
        }
        if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
    }
    return high == nil ? out : nil
}
