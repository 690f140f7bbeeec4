import Foundation
import HubStore
import HubTestSupport
import XCTest

final class MigratorTests: XCTestCase {
    func testAppliesAllThenNothing() throws {
        let db = try TestDatabase.shared.emptyDatabase()
        let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
        XCTAssertGreaterThanOrEqual(migrations.count, 4)
        let first = try Migrator(migrations: migrations).migrate(conninfo: db)
        XCTAssertEqual(first.applied, migrations.map(\.version))
        let second = try Migrator(migrations: migrations).migrate(conninfo: db)
        XCTAssertEqual(second.applied, [])
        XCTAssertEqual(second.alreadyApplied, migrations.count)
        let c = try PostgresConnection(conninfo: db)
        let rows = try c.query("SELECT version, checksum FROM schema_migrations ORDER BY version").rows
        XCTAssertEqual(try rows.map { try $0.string("checksum") }, migrations.map(\.checksum))
    }

    func testTamperedChecksumIsRefused() throws {
        let db = try TestDatabase.shared.emptyDatabase()
        var migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
        _ = try Migrator(migrations: migrations).migrate(conninfo: db)
        let tampered = migrations[1]
        migrations[1] = Migration(version: tampered.version, name: tampered.name, sql: tampered.sql + "\n-- edited\n")
        XCTAssertThrowsError(try Migrator(migrations: migrations).migrate(conninfo: db)) { error in
            XCTAssertEqual(error as? MigrationError, .checksumMismatch(version: tampered.version, name: tampered.name))
            XCTAssertTrue("\(error)".contains("new migration"))
        }
    }

    func testFailingMigrationIsRolledBackWhole() throws {
        let db = try TestDatabase.shared.emptyDatabase()
        let good = Migration(version: 1, name: "good", sql: "CREATE TABLE t1 (id int);")
        let bad = Migration(version: 2, name: "bad", sql: "CREATE TABLE t2 (id int); SELECT * FROM missing_table;")
        XCTAssertThrowsError(try Migrator(migrations: [good, bad]).migrate(conninfo: db)) { error in
            guard case .failed(let v, _, let reason)? = error as? MigrationError else { return XCTFail("\(error)") }
            XCTAssertEqual(v, 2)
            XCTAssertTrue(reason.contains("missing_table"), reason)
        }
        let c = try PostgresConnection(conninfo: db)
        XCTAssertEqual(try c.query("SELECT version FROM schema_migrations").count, 1)
        XCTAssertEqual(try c.query("SELECT 1 FROM pg_tables WHERE tablename = 't2'").count, 0, "half of 002 was left behind")
        XCTAssertEqual(try c.query("SELECT 1 FROM pg_tables WHERE tablename = 't1'").count, 1)
    }

    func testConcurrentMigrateCallsBothSucceedOnce() throws {
        let db = try TestDatabase.shared.emptyDatabase()
        let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
        let results = ResultBox()
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            do {
                let report = try Migrator(migrations: migrations).migrate(conninfo: db)
                results.append(.success(report))
            } catch {
                results.append(.failure(error))
            }
        }
        let reports = try results.values.map { try $0.get() }
        XCTAssertEqual(reports.count, 2)
        XCTAssertEqual(reports.map(\.applied.count).sorted(), [0, migrations.count])
        let c = try PostgresConnection(conninfo: db)
        XCTAssertEqual(try c.query("SELECT count(*) AS n FROM schema_migrations").first?.int("n"), migrations.count)
    }
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _values: [Result<Migrator.Report, Error>] = []
    func append(_ r: Result<Migrator.Report, Error>) { lock.withLock { _values.append(r) } }
    var values: [Result<Migrator.Report, Error>] { lock.withLock { _values } }
}
