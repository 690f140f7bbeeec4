import Foundation
import HubStore
import HubTestSupport
import XCTest

final class ConnectionPoolTests: XCTestCase {
    struct Boom: Error {}

    func testThrowingBodyReturnsItsConnection() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), minConnections: 1, maxConnections: 1))
        for _ in 0..<3 {
            XCTAssertThrowsError(try pool.withConnection { c -> Void in
                try c.query("SELECT 1")
                throw Boom()
            })
        }
        // With max 1, a leaked connection would make this time out.
        XCTAssertEqual(try pool.query("SELECT 41 + 1 AS n").first?.int("n"), 42)
        XCTAssertEqual(pool.statistics.open, 1)
        XCTAssertEqual(pool.statistics.idle, 1)
    }

    func testThrowingBodyInsideOpenTransactionIsRolledBack() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 1))
        XCTAssertThrowsError(try pool.withConnection { c -> Void in
            try c.query("BEGIN")
            try c.query("INSERT INTO orgs (name, slug) VALUES ($1, $2)", ["Left open", "left-open"])
            throw Boom()
        })
        XCTAssertEqual(try pool.query("SELECT count(*) AS n FROM orgs").first?.int("n"), 0)
    }

    func testWithTransactionRollsBackOnThrow() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase()))
        XCTAssertThrowsError(try pool.withTransaction { c -> Void in
            try c.query("INSERT INTO orgs (name, slug) VALUES ($1, $2)", ["A", "a"])
            throw Boom()
        })
        try pool.withTransaction { c in try c.query("INSERT INTO orgs (name, slug) VALUES ($1, $2)", ["B", "b"]) }
        XCTAssertEqual(try pool.query("SELECT slug FROM orgs").rows.map { try $0.string("slug") }, ["b"])
    }

    func testCheckoutTimesOutWhenExhausted() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(),
                                            minConnections: 0, maxConnections: 1, checkoutTimeout: .milliseconds(300)))
        try pool.withConnection { _ in
            XCTAssertThrowsError(try pool.withConnection { _ in }) { error in
                XCTAssertEqual((error as? PostgresError)?.code, .poolTimeout)
            }
            XCTAssertEqual(pool.waitingCheckouts, 0, "a timed-out checkout still counts as waiting")
        }
        XCTAssertNoThrow(try pool.query("SELECT 1"))
    }

    func testWaitingCheckoutGetsAReturnedConnection() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(),
                                            maxConnections: 1, checkoutTimeout: .seconds(5)))
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let done = expectation(description: "holder finished")
        DispatchQueue.global().async {
            try? pool.withConnection { _ in
                holding.signal()
                _ = release.wait(timeout: .now() + 60)
            }
            done.fulfill()
        }
        XCTAssertEqual(holding.wait(timeout: .now() + 30), .success)
        // The holder gives the connection back only once this checkout is seen waiting.
        DispatchQueue.global().async {
            _ = waitUntil { pool.waitingCheckouts == 1 }
            release.signal()
        }
        XCTAssertEqual(try pool.query("SELECT 7 AS n").first?.int("n"), 7)
        wait(for: [done], timeout: 30)
    }

    func testStatementTimeoutCancelsSlowStatement() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(),
                                            statementTimeout: .milliseconds(200)))
        XCTAssertThrowsError(try pool.query("SELECT pg_sleep(5)")) { error in
            let pg = error as? PostgresError
            XCTAssertEqual(pg?.sqlState, "57014")
            XCTAssertTrue(pg?.isQueryCanceled ?? false)
        }
        // The connection survives a cancelled statement.
        XCTAssertEqual(try pool.query("SELECT 1 AS n").first?.int("n"), 1)
    }

    func testSQLErrorsExposeSQLState() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase()))
        try pool.query("INSERT INTO orgs (name, slug) VALUES ($1, $2)", ["A", "dup"])
        XCTAssertThrowsError(try pool.query("INSERT INTO orgs (name, slug) VALUES ($1, $2)", ["B", "dup"])) { error in
            let pg = error as? PostgresError
            XCTAssertEqual(pg?.sqlState, "23505")
            XCTAssertTrue(pg?.isUniqueViolation ?? false)
            XCTAssertNotNil(pg?.detail)
        }
        XCTAssertThrowsError(try pool.query("SELECT * FROM no_such_table")) { error in
            XCTAssertEqual((error as? PostgresError)?.sqlState, "42P01")
        }
    }

    func testWrongURLFailsWithReason() {
        XCTAssertThrowsError(try ConnectionPool(.init(conninfo: "postgresql://nobody@127.0.0.1:1/none"))) { error in
            let pg = error as? PostgresError
            XCTAssertEqual(pg?.code, .connectionFailed)
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
    }

    func testParametersRoundTrip() throws {
        let pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase()))
        let id = UUID()
        let tricky = ["a,b", "{x}", "quote\"d", "back\\slash", "", "ünï"]
        let row = try XCTUnwrap(pool.query(
            "SELECT $1::uuid AS id, $2::text[] AS arr, $3::int AS n, $4::bool AS b, $5::timestamptz AS t, $6::text AS nul",
            [id, tricky, 42, true, Date(timeIntervalSince1970: 1_768_919_400.25), nil]).first)
        XCTAssertEqual(try row.uuid("id"), id)
        XCTAssertEqual(try row.stringArray("arr"), tricky)
        XCTAssertEqual(try row.int("n"), 42)
        XCTAssertEqual(try row.bool("b"), true)
        XCTAssertEqual(try row.date("t").timeIntervalSince1970, 1_768_919_400.25, accuracy: 0.001)
        XCTAssertNil(try row.optionalString("nul"))
        // An injection attempt is just data.
        let evil = "x'); DROP TABLE orgs; --"
        XCTAssertEqual(try pool.query("SELECT $1::text AS s", [evil]).first?.string("s"), evil)
        XCTAssertEqual(try pool.query("SELECT count(*) AS n FROM orgs").first?.int("n"), 0)
    }
}
