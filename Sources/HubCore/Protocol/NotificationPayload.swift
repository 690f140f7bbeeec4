/// A NOTIFY payload from migration 004, routed by scanning its fixed leading keys: the
/// hub never decodes or re-encodes the events it forwards.
public struct NotificationPayload: Sendable, Equatable {
    /// Which trigger sent it.
    public enum Kind: String, Sendable {
        case items, run, sellers
        case budgetWarning = "budget_warning"
    }

    public let kind: Kind
    /// Org id, lowercase text as PostgreSQL prints it.
    public let org: String
    /// Run id (empty for sellers).
    public let run: String
    /// First and last item sequence number (items), or the run's item_seq (run, budget_warning).
    public let lo: Int64
    public let hi: Int64
    /// Whether a run notification changed status or reason (the badge must be recounted).
    public let statusChanged: Bool
    /// Byte range of the events inside the payload: the inside of the "ev" array for items
    /// (comma-separated objects), the object for run and budget_warning; nil when the
    /// trigger left events out and readers must go to the table.
    public let events: Range<Int>?

    /// Scans `bytes`; nil when the payload is not one of ours.
    public static func parse(_ bytes: [UInt8]) -> NotificationPayload? {
        var scanner = Scanner(bytes)
        guard scanner.literal("{\"k\":\""), let kindText = scanner.stringBody(),
              let kind = Kind(rawValue: kindText),
              scanner.literal(",\"org\":\""), let org = scanner.stringBody() else { return nil }
        switch kind {
        case .sellers:
            return NotificationPayload(kind: kind, org: org, run: "", lo: 0, hi: 0, statusChanged: false, events: nil)
        case .items:
            guard scanner.literal(",\"run\":\""), let run = scanner.stringBody(),
                  scanner.literal(",\"lo\":"), let lo = scanner.integer(),
                  scanner.literal(",\"hi\":"), let hi = scanner.integer(), lo <= hi,
                  SequenceNumber.range.contains(lo), SequenceNumber.range.contains(hi) else { return nil }
            var events: Range<Int>?
            if scanner.literal(",\"ev\":[") {
                let start = scanner.position
                // The array runs to the last "]" before the closing "}".
                guard bytes.count >= start + 2, bytes[bytes.count - 1] == UInt8(ascii: "}"),
                      bytes[bytes.count - 2] == UInt8(ascii: "]") else { return nil }
                events = start..<(bytes.count - 2)
            }
            return NotificationPayload(kind: kind, org: org, run: run, lo: lo, hi: hi, statusChanged: false, events: events)
        case .run, .budgetWarning:
            guard scanner.literal(",\"run\":\""), let run = scanner.stringBody(),
                  scanner.literal(",\"seq\":"), let seq = scanner.integer(), SequenceNumber.range.contains(seq) else { return nil }
            var changed = false
            if kind == .run {
                guard scanner.literal(",\"status_changed\":") else { return nil }
                if scanner.literal("true") { changed = true } else if !scanner.literal("false") { return nil }
            }
            guard scanner.literal(",\"ev\":"), bytes.last == UInt8(ascii: "}"), scanner.position < bytes.count - 1 else { return nil }
            return NotificationPayload(kind: kind, org: org, run: run, lo: seq, hi: seq, statusChanged: changed,
                                       events: scanner.position..<(bytes.count - 1))
        }
    }

    private struct Scanner {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func literal(_ text: StaticString) -> Bool {
            let n = text.utf8CodeUnitCount
            guard position + n <= bytes.count else { return false }
            let matches = text.withUTF8Buffer { lit in
                (0..<n).allSatisfy { bytes[position + $0] == lit[$0] }
            }
            if matches { position += n }
            return matches
        }

        /// Characters up to the next quote (our ids and kinds contain no escapes).
        mutating func stringBody() -> String? {
            guard let end = bytes[position...].firstIndex(of: UInt8(ascii: "\"")), end - position <= 64 else { return nil }
            let s = String(decoding: bytes[position..<end], as: UTF8.self)
            position = end + 1
            return s
        }

        /// Decimal digits as an Int64; nil when there are none or the number overflows
        /// (19 digits can exceed Int64.max: the sum is checked, never trapped).
        mutating func integer() -> Int64? {
            var value: Int64 = 0
            let start = position
            while position < bytes.count, bytes[position] >= 48, bytes[position] <= 57, position - start < 19 {
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(Int64(bytes[position] - 48))
                if o1 || o2 { return nil }
                value = sum
                position += 1
            }
            return position > start ? value : nil
        }
    }
}
