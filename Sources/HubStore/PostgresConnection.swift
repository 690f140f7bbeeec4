import CLibPQ
import Foundation

/// One libpq connection. Not thread-safe: exactly one thread uses it at a time, which
/// the pool guarantees by lending it to one closure at a time.
// @unchecked Sendable: a PGconn is used by one thread at a time: the pool lends it to one closure at a time.
public final class PostgresConnection: @unchecked Sendable {
    let conn: OpaquePointer
    private var closed = false
    /// Set when a statement failed because the connection broke; the pool discards it.
    public private(set) var isBroken = false

    /// Connects with a URL (postgresql://…) or a conninfo string (host=… dbname=…).
    public init(conninfo: String, connectTimeoutSeconds: Int = 5) throws {
        // Keywords with an expand_dbname entry let one call take both forms and still add a
        // connect timeout the caller's string did not set.
        let keys = ["dbname", "connect_timeout", "application_name"]
        let values = [conninfo, String(connectTimeoutSeconds), "collection-hub"]
        let pointer: OpaquePointer? = withCStringArray(keys) { k in
            withCStringArray(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let pointer else {
            throw PostgresError(code: .connectionFailed, message: "could not allocate a libpq connection")
        }
        guard PQstatus(pointer) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(pointer)).trimmingCharacters(in: .whitespacesAndNewlines)
            PQfinish(pointer)
            throw PostgresError(code: .connectionFailed, message: "cannot connect to PostgreSQL: \(message)")
        }
        conn = pointer
        // Server NOTICEs ("relation already exists, skipping") are for psql users; libpq
        // would print them on stderr.
        PQsetNoticeProcessor(pointer, { _, _ in }, nil)
    }

    deinit { close() }

    /// Closes the connection; later calls fail with connectionLost.
    public func close() {
        guard !closed else { return }
        closed = true
        PQfinish(conn)
    }

    /// True while libpq still considers the connection usable.
    public var isHealthy: Bool { !closed && !isBroken && PQstatus(conn) == CONNECTION_OK }

    /// The server process id, for pg_terminate_backend in fault tests.
    public var backendPID: Int32 { PQbackendPID(conn) }

    /// Runs one parameterized statement (PQexecParams, text format) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [(any PostgresBindable)?] = []) throws -> PostgresResult {
        try ensureOpen(sql)
        let texts: [String?] = params.map { $0?.postgresText }
        // libpq takes parameters as C strings: a NUL would silently cut the value (a name
        // "ab\0cd" stored as "ab"). PostgreSQL text cannot hold NUL anyway: refuse it with
        // the server's own SQLSTATE for it (22021), so callers treat it as bad input.
        if let index = texts.firstIndex(where: { $0?.utf8.contains(0) ?? false }) {
            throw PostgresError(code: .invalidParameter, sqlState: "22021",
                                message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold",
                                statement: firstLine(sql))
        }
        let result: OpaquePointer? = withOptionalCStrings(texts) { values in
            PQexecParams(conn, sql, Int32(texts.count), nil, values, nil, nil, 0)
        }
        return try check(result, sql: sql)
    }

    /// Runs a whole SQL script with no parameters (PQexec): migrations only, whose text is
    /// our own files, never user input.
    public func executeScript(_ sql: String) throws {
        try ensureOpen(sql)
        _ = try check(PQexec(conn, sql), sql: sql)
    }

    /// BEGIN … COMMIT around `body`; ROLLBACK when it throws, and the error is rethrown.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try query("BEGIN")
        do {
            let value = try body(self)
            try query("COMMIT")
            return value
        } catch {
            if isHealthy { _ = try? query("ROLLBACK") }
            throw error
        }
    }

    private func ensureOpen(_ sql: String) throws {
        if closed || isBroken {
            throw PostgresError(code: .connectionLost, message: "the PostgreSQL connection is closed",
                                statement: firstLine(sql))
        }
    }

    private func check(_ result: OpaquePointer?, sql: String) throws -> PostgresResult {
        guard let result else {
            markBrokenIfNeeded()
            throw PostgresError(code: .connectionLost, message: errorMessage(), statement: firstLine(sql))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(result)
        default:
            let error = Self.error(from: result, fallback: errorMessage(), sql: sql)
            PQclear(result)
            markBrokenIfNeeded()
            throw error
        }
    }

    func markBrokenIfNeeded() {
        if PQstatus(conn) != CONNECTION_OK { isBroken = true }
    }

    func errorMessage() -> String {
        String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func error(from result: OpaquePointer, fallback: String, sql: String?) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let p = PQresultErrorField(result, code) else { return nil }
            return String(cString: p)
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))
        let message = field(Int32(UInt8(ascii: "M"))) ?? fallback
        let code: PostgresError.Code = sqlState == nil ? .connectionLost : .server
        var error = PostgresError(code: code, sqlState: sqlState, message: message,
                                  detail: field(Int32(UInt8(ascii: "D"))), hint: field(Int32(UInt8(ascii: "H"))),
                                  statement: sql.map(firstLine))
        error.column = field(Int32(UInt8(ascii: "c")))
        error.constraint = field(Int32(UInt8(ascii: "n")))
        return error
    }
}

func firstLine(_ sql: String) -> String {
    let trimmed = sql.trimmingCharacters(in: .whitespacesAndNewlines)
    return String(trimmed.prefix(while: { $0 != "\n" }).prefix(120))
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    withOptionalCStrings(strings.map { Optional($0) }, body)
}

func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let duplicated: [UnsafeMutablePointer<CChar>?] = strings.map { s in s.map { strdup($0)! } }
    defer { duplicated.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicated.map { $0.map { UnsafePointer($0) } }
    return body(pointers + [nil])
}
