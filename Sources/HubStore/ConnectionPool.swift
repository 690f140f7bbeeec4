import CLibPQ
import Foundation

/// A bounded pool of PostgreSQL connections. A connection is lent to one closure at a
/// time and always comes back, also when the closure throws (data-model contract: every
/// getconn has its putconn); a broken one is closed instead of returned.
// @unchecked Sendable: all mutable state is guarded by `condition`.
public final class ConnectionPool: @unchecked Sendable {
    /// Pool settings; defaults follow the data-model contract's pooling rules.
    public struct Configuration: Sendable {
        /// URL or conninfo string.
        public var conninfo: String
        /// Connections opened up front (and so checked at start-up).
        public var minConnections: Int = 1
        /// Connections open at most.
        public var maxConnections: Int = 4
        /// How long a checkout waits for a free connection before it fails.
        public var checkoutTimeout: Duration = .seconds(5)
        /// Server-side statement_timeout set on every connection; nil leaves the server's.
        public var statementTimeout: Duration? = .seconds(10)
        /// libpq connect_timeout.
        public var connectTimeoutSeconds: Int = 5

        public init(conninfo: String, minConnections: Int = 1, maxConnections: Int = 4,
                    checkoutTimeout: Duration = .seconds(5), statementTimeout: Duration? = .seconds(10)) {
            self.conninfo = conninfo
            self.minConnections = minConnections
            self.maxConnections = maxConnections
            self.checkoutTimeout = checkoutTimeout
            self.statementTimeout = statementTimeout
        }
    }

    public let configuration: Configuration
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var waiting = 0
    private var closed = false

    /// Opens `minConnections` right away so a bad URL fails here, with libpq's reason.
    public init(_ configuration: Configuration) throws {
        precondition(configuration.maxConnections >= 1 && configuration.minConnections <= configuration.maxConnections)
        self.configuration = configuration
        for _ in 0..<configuration.minConnections {
            let connection = try makeConnection()
            condition.lock()
            open += 1
            idle.append(connection)
            condition.unlock()
        }
    }

    deinit { close() }

    /// Lends a connection to `body` and takes it back whatever happens.
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkout()
        defer { checkin(connection) }
        return try body(connection)
    }

    /// `withConnection` + BEGIN/COMMIT, ROLLBACK on error.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { try $0.withTransaction(body) }
    }

    /// Convenience for one statement.
    @discardableResult
    public func query(_ sql: String, _ params: [(any PostgresBindable)?] = []) throws -> PostgresResult {
        try withConnection { try $0.query(sql, params) }
    }

    /// Closes idle connections and fails later checkouts; lent ones close when returned.
    public func close() {
        condition.lock()
        closed = true
        let toClose = idle
        idle.removeAll()
        open -= toClose.count
        condition.broadcast()
        condition.unlock()
        toClose.forEach { $0.close() }
    }

    /// Counts for metrics and tests.
    public var statistics: (open: Int, idle: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (open, idle.count)
    }

    /// Checkouts blocked now, waiting for a connection to come back (metrics and tests).
    public var waitingCheckouts: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting
    }

    private func checkout() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(configuration.checkoutTimeout.seconds)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PostgresError(code: .poolClosed, message: "the connection pool is closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                return connection
            }
            if open < configuration.maxConnections {
                open += 1
                condition.unlock()
                do {
                    return try makeConnection()
                } catch {
                    condition.lock()
                    open -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            waiting += 1
            let signalled = condition.wait(until: deadline)
            waiting -= 1
            if !signalled {
                condition.unlock()
                throw PostgresError(
                    code: .poolTimeout,
                    message: "no database connection became free within \(configuration.checkoutTimeout.seconds) s (pool of \(configuration.maxConnections))")
            }
        }
    }

    private func checkin(_ connection: PostgresConnection) {
        var keep = connection.isHealthy
        // A closure that threw inside a hand-written BEGIN leaves the transaction open;
        // the next borrower must not inherit it.
        if keep, PQtransactionStatus(connection.conn) != PQTRANS_IDLE {
            keep = (try? connection.query("ROLLBACK")) != nil
                && PQtransactionStatus(connection.conn) == PQTRANS_IDLE
        }
        condition.lock()
        if keep && !closed {
            idle.append(connection)
        } else {
            open -= 1
        }
        condition.signal()
        condition.unlock()
        if !keep || closed { connection.close() }
    }

    private func makeConnection() throws -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: configuration.conninfo,
                                                connectTimeoutSeconds: configuration.connectTimeoutSeconds)
        if let timeout = configuration.statementTimeout {
            try connection.query("SELECT set_config('statement_timeout', $1, false)",
                                 [String(Int(timeout.seconds * 1000))])
        }
        return connection
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
