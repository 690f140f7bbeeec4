/// Values by client id, kept at the id's slot (its low 32 bits, see `ClientSlots`), so a
/// lookup is an index and one compare instead of a hash. The fan-out looks each client up
/// several times per wave, and hashing those ids was 40 % of its decisions (BENCHMARKS.md).
/// Ids whose slot lies beyond `denseSlots` are kept in a dictionary, so any id works.
public struct ClientTable<Value> {
    /// The highest slot kept in the arrays; memory for them grows with the highest slot used.
    public static var denseSlots: Int { 1 << 20 }
    /// The id at each slot; `vacant` where none is (a stored id's slot is below `denseSlots`,
    /// so `vacant`, whose slot is not, never names a stored entry).
    private var ids: [FeedClientID] = []
    private var values: [Value?] = []
    private var overflow: [FeedClientID: Value] = [:]
    public private(set) var count = 0
    private static var vacant: FeedClientID { .max }

    public init() {}

    public var isEmpty: Bool { count == 0 }

    @inline(__always)
    private static func slot(_ id: FeedClientID) -> Int? {
        let slot = Int(truncatingIfNeeded: id & 0xFFFF_FFFF)
        return slot < denseSlots ? slot : nil
    }

    public subscript(id: FeedClientID) -> Value? {
        get {
            guard let slot = Self.slot(id) else { return overflow[id] }
            guard slot < ids.count, ids[slot] == id else { return nil }
            return values[slot]
        }
        set {
            guard let slot = Self.slot(id) else {
                let had = overflow[id] != nil
                overflow[id] = newValue
                count += (newValue != nil ? 1 : 0) - (had ? 1 : 0)
                return
            }
            if let newValue {
                grow(to: slot)
                if ids[slot] != id {
                    // A vacant slot, or one an older id of this slot left: that entry is replaced.
                    if ids[slot] == Self.vacant { count += 1 }
                    ids[slot] = id
                }
                values[slot] = newValue
            } else if slot < ids.count, ids[slot] == id {
                ids[slot] = Self.vacant
                values[slot] = nil
                count -= 1
            }
        }
        _modify {
            guard let slot = Self.slot(id), slot < ids.count, ids[slot] == id else {
                var value = self[id]
                defer { self[id] = value }
                yield &value
                return
            }
            // In place: the value is not copied out and back, so its storage stays unique.
            var value = values[slot].take()
            defer {
                if value == nil {
                    ids[slot] = Self.vacant
                    count -= 1
                }
                values[slot] = value
            }
            yield &value
        }
    }

    public subscript(id: FeedClientID, default fallback: @autoclosure () -> Value) -> Value {
        get { self[id] ?? fallback() }
        _modify {
            if self[id] == nil { self[id] = fallback() }
            guard let slot = Self.slot(id) else {
                var value = overflow[id]!
                defer { overflow[id] = value }
                yield &value
                return
            }
            var value = values[slot].take()!
            defer { values[slot] = value }
            yield &value
        }
    }

    /// Removes and returns the value for `id`.
    @discardableResult
    public mutating func removeValue(forKey id: FeedClientID) -> Value? {
        let old = self[id]
        self[id] = nil
        return old
    }

    /// Reads part of a value where it lies, without copying the whole value out (the fan-out
    /// reads a few numbers of each client's queue per wave).
    @inline(__always)
    func peek<R>(_ id: FeedClientID, _ body: (borrowing Value) -> R) -> R? {
        guard let slot = Self.slot(id) else { return overflow[id].map { body($0) } }
        guard slot < ids.count, ids[slot] == id else { return nil }
        return values.withUnsafeBufferPointer { $0[slot].map { body($0) } }
    }

    private mutating func grow(to slot: Int) {
        guard slot >= ids.count else { return }
        let size = min(Self.denseSlots, max(slot + 1, ids.count * 2, 16))
        ids += repeatElement(Self.vacant, count: size - ids.count)
        values += repeatElement(nil, count: size - values.count)
    }
}

extension ClientTable: Sendable where Value: Sendable {}
