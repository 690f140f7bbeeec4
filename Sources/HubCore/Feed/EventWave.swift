/// Events of one run produced by one drain of the LISTEN socket, kept as the raw JSON the
/// triggers wrote: `items` holds comma-separated item/seller objects with consecutive
/// sequence numbers lo...hi; `extras` (latest run event, budget warnings) follow them.
public struct EventWave: Sendable, Equatable {
    public var items: [UInt8] = []
    public var lo: Int64 = 0
    public var hi: Int64 = -1
    public var extras: [[UInt8]] = []

    public init() {}

    public var hasItems: Bool { hi >= lo && !items.isEmpty }
    /// Bytes this wave keeps in memory (items and extras), for the per-client bound.
    public var byteCount: Int { extras.reduce(items.count) { $0 + $1.count } }
    public var isEmpty: Bool { !hasItems && extras.isEmpty }

    /// Appends events `seqLo...seqHi` (comma-separated objects) that directly follow.
    public mutating func append(items bytes: ArraySlice<UInt8>, lo seqLo: Int64, hi seqHi: Int64) {
        if !hasItems {
            lo = seqLo
            items.reserveCapacity(bytes.count)
        } else {
            items.append(UInt8(ascii: ","))
        }
        items.append(contentsOf: bytes)
        hi = seqHi
    }

    /// The frame: `[items…,extras…]`.
    public func frame() -> [UInt8] {
        frame(itemBytes: hasItems ? items[...] : nil)
    }

    /// The frame for a client that already has everything up to `cursor`.
    public func frame(after cursor: Int64) -> [UInt8]? {
        guard hasItems, cursor >= lo else { return frame() }
        if cursor >= hi { return extras.isEmpty ? nil : frame(itemBytes: nil) }
        let objects = EventWave.splitObjects(items)
        // cursor is within lo..<hi here, both bounded sequence numbers: no overflow.
        let skip = Int(cursor - lo + 1)
        guard skip < objects.count else { return extras.isEmpty ? nil : frame(itemBytes: nil) }
        let start = objects[skip].lowerBound
        return frame(itemBytes: items[start...])
    }

    private func frame(itemBytes: ArraySlice<UInt8>?) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity((itemBytes?.count ?? 0) + extras.reduce(2) { $0 + $1.count + 1 })
        var first = true
        if let itemBytes {
            out.append(contentsOf: itemBytes)
            first = false
        }
        for extra in extras {
            if !first { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: extra)
            first = false
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// Byte ranges of the top-level objects in "{…},{…}" (strings may hold braces).
    public static func splitObjects(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var depth = 0, inString = false, escaped = false, start = 0
        for (i, b) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"):
                if depth == 0 { start = i }
                depth += 1
            case UInt8(ascii: "}"):
                depth -= 1
                if depth == 0 { ranges.append(start..<(i + 1)) }
            default: break
            }
        }
        return ranges
    }
}

extension Array where Element == [UInt8] {
    /// `a,b,c`: the inside of a JSON array.
    public func joinedWithCommas() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(reduce(0) { $0 + $1.count + 1 })
        for (i, e) in enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: e)
        }
        return out
    }

    /// `[a,b,c]`: a JSON array of these objects.
    public func jsonArray() -> [UInt8] {
        [UInt8(ascii: "[")] + joinedWithCommas() + [UInt8(ascii: "]")]
    }
}
