import Foundation

/// The opaque `next_cursor` of GET /api/v1/runs: "<created_at in µs since 1970>_<run id>".
/// Parsed into bounded values so a forged cursor is a 422, never a timestamp PostgreSQL
/// refuses (which used to surface as a database failure).
public struct RunPageCursor: Sendable, Equatable {
    /// Microseconds since 1970 through the end of year 9999 (PostgreSQL's and ISO 8601's range).
    public static let micros: ClosedRange<Int64> = 0...253_402_300_799_999_999

    public let createdAtMicros: Int64
    public let runID: UUID

    /// Nil unless `micros` is in range.
    public init?(createdAtMicros micros: Int64, runID: UUID) {
        guard Self.micros.contains(micros) else { return nil }
        createdAtMicros = micros
        self.runID = runID
    }

    /// The cursor for the page after the run created at `date`; nil for a date out of range.
    public init?(after date: Date, runID: UUID) {
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        guard micros.isFinite, let exact = Int64(exactly: micros) else { return nil }
        self.init(createdAtMicros: exact, runID: runID)
    }

    /// Parses the text form; nil for anything this API did not give out.
    public init?(_ text: String) {
        guard text.utf8.count <= 64 else { return nil }
        let parts = text.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else { return nil }
        self.init(createdAtMicros: micros, runID: id)
    }

    /// The instant, exact to the microsecond within the bounded range.
    public var createdAt: Date { Date(timeIntervalSince1970: Double(createdAtMicros) / 1_000_000) }

    /// "<micros>_<lowercase uuid>".
    public var text: String { "\(createdAtMicros)_\(runID.uuidString.lowercased())" }
}
