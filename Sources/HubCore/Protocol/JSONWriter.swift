/// Appends JSON text to a byte buffer: the hub's one JSON writer. Wire messages, error
/// bodies and REST answers (through `encode(_:)`) all come out of here, so there is one
/// escaper and one set of rules for numbers, UUIDs and dates.
///
/// Why not JSONEncoder: the hub forwards JSON it did not write (trigger events, jsonb
/// columns) and must splice those bytes in as they are (`raw`), which JSONEncoder cannot;
/// it writes UUIDs upper-case and has no strategy to change that; and server messages are
/// written per client and per event, where direct byte appends beat reflection and a Data
/// copy.
///
/// Commas are automatic: every value, container or key after a previous value gets one, so
/// callers only say what to write. Structure (matching braces, keys inside objects) is the
/// caller's responsibility; this is a writer, not a validator.
public struct JSONWriter: Sendable {
    public var bytes: [UInt8]
    private var needsComma = false

    public init(reservingCapacity capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Continues `bytes`; the next value is written without a leading comma.
    public init(appendingTo bytes: [UInt8]) {
        self.bytes = bytes
    }

    // MARK: Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// `"name":` — the value written next belongs to it.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Values

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    /// A string, or `null` for nil ("a field that is absent is null").
    public mutating func string(orNull value: String?) {
        if let value { string(value) } else { null() }
    }

    public mutating func int(_ value: Int) { int64(Int64(value)) }

    public mutating func int64(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        appendDigits(value.magnitude)
        needsComma = true
    }

    public mutating func uint64(_ value: UInt64) {
        separate()
        appendDigits(value)
        needsComma = true
    }

    /// A finite double as JSONEncoder writes it: integral values without ".0", others in
    /// Swift's shortest round-tripping form. Not finite (no JSON form) is written as null;
    /// `encode(_:)` refuses such values before they get here.
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        if value == value.rounded(), value.magnitude < 1e15 {
            int64(Int64(value))
        } else {
            separate()
            bytes.append(contentsOf: value.description.utf8)
            needsComma = true
        }
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65]) // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65]) // false
        }
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) // null
        needsComma = true
    }

    /// An already-encoded JSON value (an event object from PostgreSQL, a nested message),
    /// copied as is: the caller vouches that it is valid JSON.
    public mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    // MARK: Encoding

    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Decimal digits without going through String.
    private mutating func appendDigits(_ value: UInt64) {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var v = value
        var i = start + digits - 1
        while v > 0 {
            bytes[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: v % 10)
            v /= 10
            i -= 1
        }
    }

    private mutating func appendQuoted(_ s: String) {
        var s = s
        s.withUTF8 { appendQuoted(utf8: $0) }
    }

    /// RFC 8259 escaping, plus U+2028/U+2029: valid in JSON but line terminators in older
    /// JavaScript, where a client might eval or embed the text. Unescaped runs are copied
    /// in bulk.
    private mutating func appendQuoted(utf8 input: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var runStart = 0
        var i = 0
        let n = input.count
        while i < n {
            let b = input[i]
            if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0xE2 {
                i += 1
                continue
            }
            if b == 0xE2 {
                // U+2028 is E2 80 A8, U+2029 is E2 80 A9.
                guard i + 2 < n, input[i + 1] == 0x80, input[i + 2] == 0xA8 || input[i + 2] == 0xA9 else {
                    i += 1
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
                bytes.append(contentsOf: input[i + 2] == 0xA8 ? Self.lineSeparator : Self.paragraphSeparator)
                i += 3
                runStart = i
                continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
            appendEscape(b)
            i += 1
            runStart = i
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<n]))
        bytes.append(UInt8(ascii: "\""))
    }

    private static let lineSeparator: [UInt8] = Array("\\u2028".utf8)
    private static let paragraphSeparator: [UInt8] = Array("\\u2029".utf8)
    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func appendEscape(_ b: UInt8) {
        bytes.append(UInt8(ascii: "\\"))
        switch b {
        case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
        case 0x08: bytes.append(UInt8(ascii: "b"))
        case 0x0C: bytes.append(UInt8(ascii: "f"))
        case 0x0A: bytes.append(UInt8(ascii: "n"))
        case 0x0D: bytes.append(UInt8(ascii: "r"))
        case 0x09: bytes.append(UInt8(ascii: "t"))
        default:
            bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      Self.hex[Int(b >> 4)], Self.hex[Int(b & 0xF)]])
        }
    }
}
