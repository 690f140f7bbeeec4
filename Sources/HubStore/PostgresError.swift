/// An error from libpq or the server, carrying SQLSTATE, message, detail and hint.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for callers that branch on it.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let connectionFailed = Code("connection_failed")
        public static let connectionLost = Code("connection_lost")
        public static let server = Code("server")
        public static let poolTimeout = Code("pool_timeout")
        public static let poolClosed = Code("pool_closed")
        /// `DatabaseWorkers` refused the job: every worker busy, its queue full.
        public static let workersBusy = Code("workers_busy")
        public static let decoding = Code("decoding")
        public static let protocolViolation = Code("protocol")
        /// A parameter PostgreSQL cannot take (a NUL in text); refused before sending.
        public static let invalidParameter = Code("invalid_parameter")
    }

    public var code: Code
    /// Five-character SQLSTATE when the server reported one ("57014" = query cancelled).
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The statement (first line) that failed, for context in logs.
    public var statement: String?
    /// The column (PG_DIAG_COLUMN_NAME) or constraint (PG_DIAG_CONSTRAINT_NAME) the server
    /// named, when it named one: the field an input error is about.
    public var column: String?
    public var constraint: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil,
                hint: String? = nil, statement: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.statement = statement
    }

    public var description: String {
        var s = message
        if let sqlState { s += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { s += ": \(detail)" }
        if let hint, !hint.isEmpty { s += " Hint: \(hint)" }
        return s
    }

    /// True for SQLSTATE class 23 (unique, foreign key, check violations).
    public var isIntegrityViolation: Bool { sqlState?.hasPrefix("23") ?? false }
    /// True for SQLSTATE class 22 (data exceptions: out of range, invalid text, NUL...).
    public var isDataException: Bool { sqlState?.hasPrefix("22") ?? false }
    /// True when the statement failed because of the values it was given (class 22 or 23),
    /// not because the database is unreachable: the caller's mistake, never a 503.
    public var isCausedByInput: Bool { isDataException || isIntegrityViolation }
    /// True for 23505 unique_violation.
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// True when the statement was cancelled, e.g. by statement_timeout (57014).
    public var isQueryCanceled: Bool { sqlState == "57014" }
    /// True for 40001/40P01, where retrying the transaction is the right answer.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }
    /// True when the connection itself is gone (network, server restart, terminated backend).
    public var isConnectionError: Bool {
        code == .connectionFailed || code == .connectionLost || (sqlState?.hasPrefix("08") ?? false)
            || sqlState == "57P01" || sqlState == "57P02" || sqlState == "57P03"
    }
}
