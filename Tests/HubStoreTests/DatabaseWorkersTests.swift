import Foundation
import HubStore
import HubTestSupport
import XCTest

final class DatabaseWorkersTests: XCTestCase {
    /// Two threads busy behind a barrier and one job queued: the next is refused at once,
    /// and once the barrier opens every accepted job runs.
    func testRefusesAtOnceWhenEveryThreadIsBusyAndTheQueueIsFull() {
        let workers = DatabaseWorkers(threads: 2, queueLimit: 1)
        defer { workers.stop() }
        let barrier = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchGroup()
        for _ in 0..<2 {
            finished.enter()
            XCTAssertTrue(workers.submit {
                started.signal()
                _ = barrier.wait(timeout: .now() + 60)
                finished.leave()
            })
        }
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(workers.currentLoad, .init(busy: 2, queued: 0, refused: 0))

        finished.enter()
        XCTAssertTrue(workers.submit { finished.leave() }, "the queue has room for one")
        XCTAssertEqual(workers.currentLoad, .init(busy: 2, queued: 1, refused: 0))
        XCTAssertFalse(workers.submit { XCTFail("a refused job must not run") })
        XCTAssertEqual(workers.currentLoad.refused, 1)

        barrier.signal()
        barrier.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
        XCTAssertTrue(waitUntil { workers.currentLoad == .init(busy: 0, queued: 0, refused: 1) })
    }

    /// A refused `run` still calls the job, at once on the calling thread, with a lease
    /// that fails without waiting: the caller's failure path answers for it.
    func testRefusedRunGetsALeaseThatFailsAtOnce() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 1))
        defer { pool.close() }
        let workers = DatabaseWorkers(threads: 1, queueLimit: 0)
        defer { workers.stop() }
        let barrier = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let granted = DispatchSemaphore(value: 0)
        workers.run(pool) { lease in
            started.signal()
            XCTAssertEqual(try? lease.withConnection { try $0.query("SELECT 1 AS one").first?.int("one") }, 1)
            _ = barrier.wait(timeout: .now() + 60)
            granted.signal()
        }
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)

        let outcome = RefusalLog()
        workers.run(pool) { lease in
            let code: PostgresError.Code?
            do {
                _ = try lease.withConnection { _ in 1 }
                code = nil
            } catch {
                code = (error as? PostgresError)?.code
            }
            outcome.record(isGranted: lease.isGranted, code: code, thread: Thread.current)
        }
        // Recorded before `run` returned: the refused job ran right here.
        XCTAssertEqual(outcome.thread, Thread.current)
        XCTAssertEqual(outcome.isGranted, false)
        XCTAssertEqual(outcome.code, .workersBusy)
        barrier.signal()
        XCTAssertEqual(granted.wait(timeout: .now() + 30), .success)
    }

    /// The result form: a refused job never runs and its continuation hears `workersBusy` at once.
    func testRefusedWorkNeverRunsAndItsContinuationFailsAtOnce() {
        let workers = DatabaseWorkers(threads: 1, queueLimit: 0)
        defer { workers.stop() }
        let barrier = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0), finished = DispatchSemaphore(value: 0)
        workers.run({ () -> Int in
            started.signal()
            _ = barrier.wait(timeout: .now() + 60)
            return 7
        }, then: { result in
            XCTAssertEqual(try? result.get(), 7)
            finished.signal()
        })
        XCTAssertEqual(started.wait(timeout: .now() + 30), .success)
        let outcome = RefusalLog()
        workers.run({ () -> Int in XCTFail("a refused job must not run"); return 0 }, then: { result in
            outcome.record(isGranted: false, code: { if case .failure(let e) = result { return (e as? PostgresError)?.code } else { return nil } }(),
                           thread: Thread.current)
        })
        XCTAssertEqual(outcome.thread, Thread.current)
        XCTAssertEqual(outcome.code, .workersBusy)
        barrier.signal()
        XCTAssertEqual(finished.wait(timeout: .now() + 30), .success)
    }

    func testStoppedWorkersRefuse() {
        let workers = DatabaseWorkers(threads: 1, queueLimit: 4)
        workers.stop()
        XCTAssertFalse(workers.submit {})
    }
}

/// What a refused job saw.
// @unchecked Sendable: every access is under the lock.
private final class RefusalLog: @unchecked Sendable {
    private let lock = NSLock()
    private var seen: (isGranted: Bool, code: PostgresError.Code?, thread: Thread)?
    func record(isGranted: Bool, code: PostgresError.Code?, thread: Thread) {
        lock.lock(); seen = (isGranted, code, thread); lock.unlock()
    }
    var isGranted: Bool? { lock.lock(); defer { lock.unlock() }; return seen?.isGranted }
    var code: PostgresError.Code? { lock.lock(); defer { lock.unlock() }; return seen?.code }
    var thread: Thread? { lock.lock(); defer { lock.unlock() }; return seen?.thread }
}
