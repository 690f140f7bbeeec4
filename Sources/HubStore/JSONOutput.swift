import Foundation

/// JSON for API answers and `--json` output: sorted keys, ISO 8601 dates with
/// milliseconds, and UUIDs lowercase as PostgreSQL prints them (JSONEncoder writes them
/// uppercase, and clients compare ids from REST with ids from WebSocket events).
public enum JSONOutput {
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = false) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var c = encoder.singleValueContainer()
            try c.encode(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
        }
        return lowercasingUUIDs(try encoder.encode(value))
    }

    /// Lowercases every quoted 36-character UUID.
    static func lowercasingUUIDs(_ data: Data) -> Data {
        var bytes = [UInt8](data)
        let dashes: Set<Int> = [8, 13, 18, 23]
        var i = 0
        while i + 37 < bytes.count {
            if bytes[i] == UInt8(ascii: "\""), bytes[i + 37] == UInt8(ascii: "\""),
               (0..<36).allSatisfy({ k in dashes.contains(k) ? bytes[i + 1 + k] == UInt8(ascii: "-") : isHex(bytes[i + 1 + k]) }) {
                for k in 1...36 where bytes[i + k] >= 65 && bytes[i + k] <= 70 { bytes[i + k] += 32 }
                i += 38
            } else {
                i += 1
            }
        }
        return Data(bytes)
    }

    private static func isHex(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b) }
}
