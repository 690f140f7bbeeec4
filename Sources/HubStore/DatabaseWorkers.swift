import Foundation

/// A fixed number of threads that run database work, sized to the connection pool, with a
/// small queue in front. When every thread is busy and the queue is full a job is refused
/// at once, so the caller answers `unavailable` right away: no caller ever parks a thread
/// on a pool checkout, and overload shows as refusals instead of a growing thread count.
///
/// `submit` and `run` are callable from any thread and never wait.
// @unchecked Sendable: the queue, counters and thread count are guarded by `condition`.
public final class DatabaseWorkers: @unchecked Sendable {
    /// What the workers are doing right now, and how many jobs they refused so far.
    public struct Load: Sendable, Equatable {
        public var busy = 0
        public var queued = 0
        public var refused = 0
        public init(busy: Int = 0, queued: Int = 0, refused: Int = 0) {
            self.busy = busy
            self.queued = queued
            self.refused = refused
        }
    }

    /// Threads at most (started as work arrives, then kept until `stop`).
    public let threads: Int
    /// Jobs waiting for a thread at most; one more is refused.
    public let queueLimit: Int
    private let name: String
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var queue: [@Sendable () -> Void] = []
    private var queueHead = 0
    private var started = 0
    private var idle = 0
    private var load = Load()
    private var stopped = false

    public init(threads: Int, queueLimit: Int, name: String = "chub-db") {
        precondition(threads >= 1 && queueLimit >= 0)
        self.threads = threads
        self.queueLimit = queueLimit
        self.name = name
    }

    /// Queues `job` for a worker thread. False, with `job` dropped, when every thread is
    /// busy and `queueLimit` jobs already wait, or after `stop`. Any thread; never waits.
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        let waiting = queue.count - queueHead
        // Running plus waiting jobs never pass the threads plus the queue's room.
        guard !stopped, load.busy + waiting < threads + queueLimit else {
            load.refused += 1
            condition.unlock()
            return false
        }
        queue.append(job)
        load.queued = waiting + 1
        let spawn = waiting + 1 > idle && started < threads
        if spawn { started += 1 }
        condition.signal()
        condition.unlock()
        if spawn { startThread() }
        return true
    }

    /// Runs `job` on a worker with `pool` behind its lease. Refused (see `submit`), `job`
    /// runs at once on the calling thread with a lease whose every use throws
    /// `PostgresError.Code.workersBusy` without waiting, so the job's own failure path
    /// (answer `unavailable`, retry later) handles the refusal. Any thread; never waits.
    public func run(_ pool: ConnectionPool, _ job: @escaping @Sendable (DatabaseLease) -> Void) {
        if !submit({ job(DatabaseLease(pool: pool)) }) { job(DatabaseLease(pool: nil)) }
    }

    /// Runs `work` on a worker and hands its result to `then` there. Refused (see `submit`),
    /// `then` gets `PostgresError.Code.workersBusy` at once on the calling thread, and
    /// `work` never runs. Any thread; never waits.
    public func run<T>(_ work: @escaping @Sendable () throws -> T, then: @escaping @Sendable (Result<T, Error>) -> Void) {
        if !submit({ then(Result { try work() }) }) { then(.failure(Self.busy)) }
    }

    /// What a refused job fails with.
    static let busy = PostgresError(code: .workersBusy, message: "every database worker is busy and its queue is full; retry")

    /// Busy threads, queued jobs and refusals so far. Any thread.
    public var currentLoad: Load {
        condition.lock(); defer { condition.unlock() }
        return load
    }

    /// Refuses new jobs; threads finish what is queued and exit. Any thread; idempotent.
    public func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func startThread() {
        let thread = Thread { [self] in work() }
        thread.name = name
        thread.start()
    }

    /// A worker thread's body: take the next job, run it, until stopped and drained.
    private func work() {
        condition.lock()
        while true {
            if queueHead < queue.count {
                let job = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: true)
                    queueHead = 0
                }
                load.queued = queue.count - queueHead
                load.busy += 1
                condition.unlock()
                job()
                condition.lock()
                load.busy -= 1
                continue
            }
            if stopped { break }
            idle += 1
            condition.wait()
            idle -= 1
        }
        started -= 1
        condition.unlock()
    }
}

/// The database as a `DatabaseWorkers` job sees it: the pool on a worker thread, or — when
/// the workers refused the job — a lease that fails at once.
public struct DatabaseLease: Sendable {
    private let pool: ConnectionPool?

    init(pool: ConnectionPool?) { self.pool = pool }

    /// False when the workers refused the job (every use throws).
    public var isGranted: Bool { pool != nil }

    /// Lends a pooled connection to `body` (see `ConnectionPool.withConnection`).
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard let pool else {
            throw DatabaseWorkers.busy
        }
        return try pool.withConnection(body)
    }

    /// The pool itself, for repositories that take one; nil when refused.
    public var grantedPool: ConnectionPool? { pool }
}
