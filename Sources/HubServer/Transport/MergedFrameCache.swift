import Foundation

/// The last few merged frames, so that clients whose queues hold the same frames (every
/// client of a busy topic at its writable turn) send one merged copy instead of each
/// building its own. An entry keeps its parts alive, so identity comparison stays sound.
/// Loop thread only.
final class MergedFrameCache {
    private struct Entry {
        let parts: [SharedFrame]
        let merged: SharedFrame
    }

    private var entries: [Entry?]
    private var next = 0

    init(slots: Int = 4) { entries = Array(repeating: nil, count: slots) }

    /// `parts` (mergeable JSON arrays, at least two) as one array frame `[a…, b…]`.
    func merged(_ parts: ArraySlice<SharedFrame>) -> SharedFrame {
        for case let entry? in entries where entry.parts.count == parts.count
            && zip(entry.parts, parts).allSatisfy({ $0 === $1 }) {
            return entry.merged
        }
        let merged = Self.build(parts)
        entries[next] = Entry(parts: Array(parts), merged: merged)
        next = (next + 1) % entries.count
        return merged
    }

    private static func build(_ parts: ArraySlice<SharedFrame>) -> SharedFrame {
        let nonEmpty = parts.filter { !$0.isEmptyArray }
        let size = 2 + nonEmpty.reduce(0) { $0 + $1.count - 2 } + max(0, nonEmpty.count - 1)
        return SharedFrame(count: size, mergeableJSONArray: true) { out in
            var n = 0
            out[n] = UInt8(ascii: "["); n += 1
            for (i, frame) in nonEmpty.enumerated() {
                if i > 0 { out[n] = UInt8(ascii: ","); n += 1 }
                let interior = frame.count - 2
                (out.baseAddress! + n).copyMemory(from: frame.payloadPointer + 1, byteCount: interior)
                n += interior
            }
            out[n] = UInt8(ascii: "]")
        }
    }
}
