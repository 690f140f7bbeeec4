import Foundation
@testable import HubStore
import HubTestSupport
import XCTest

/// Dates sent as parameters keep PostgreSQL's microsecond resolution: a timestamp read from
/// a row and sent back (the runs page cursor) must compare equal to the row's own value.
final class PostgresTimestampTests: XCTestCase {
    func testFormatIsMicrosecondISO8601() {
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_768_919_400.123456)), "2026-01-20T14:30:00.123456Z")
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_768_919_400.000001)), "2026-01-20T14:30:00.000001Z")
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: 1_768_919_400.9999996)), "2026-01-20T14:30:01.000000Z")
        XCTAssertEqual(PostgresTimestamp.format(Date(timeIntervalSince1970: -0.25)), "1969-12-31T23:59:59.750000Z")
    }

    func testReadBackAndSentAgainIsTheSameInstant() throws {
        let c = try PostgresConnection(conninfo: try TestDatabase.shared.migratedDatabase())
        defer { c.close() }
        var rng = SeededRandom(defaultSeed: 20_261_130)
        let seed = rng.seed
        for _ in 0..<200 {
            // Random instants with random microseconds, 1970-2033.
            let micros = Int64.random(in: 0...2_000_000_000_000_000, using: &rng)
            let row = try XCTUnwrap(c.query("SELECT to_timestamp(0) + $1::bigint * interval '1 microsecond' AS t", [micros]).first)
            let read = try row.date("t")
            let same = try XCTUnwrap(c.query("SELECT ($1::timestamptz = to_timestamp(0) + $2::bigint * interval '1 microsecond')::text AS eq",
                                            [read, micros]).first)
            XCTAssertEqual(try same.string("eq"), "true", "seed \(seed): \(micros) µs came back as \(PostgresTimestamp.format(read))")
        }
    }
}
