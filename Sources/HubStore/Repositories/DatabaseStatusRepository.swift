import Foundation

/// What /healthz and /metrics ask the database about itself.
public struct DatabaseStatusRepository: Sendable {
    let pool: ConnectionPool
    public init(pool: ConnectionPool) { self.pool = pool }

    /// True when a pooled connection answers a round trip (no table is read).
    public func databasePing() -> Bool {
        (try? pool.query("SELECT 1 AS ok").first?.int("ok")) == 1
    }

    /// `pg_notification_queue_usage()`: the fraction of the NOTIFY queue in use (0…1), nil
    /// when it could not be read.
    public func notifyQueueUsageRead() -> Double? {
        try? pool.query("SELECT pg_notification_queue_usage() AS u").first?.optionalString("u").flatMap(Double.init)
    }
}
