/// Hands out client ids for one loop's sessions: a slot (low 32 bits) reused after its
/// session ends, so `ClientTable` stays as small as the clients connected at once, and a
/// generation (high 32 bits) bumped on each reuse, so an id of a session that has gone
/// (in a read still in flight, a timer) never names the session that has its slot now.
public struct ClientSlots: Sendable {
    private var generations: [UInt32] = []
    private var live: [Bool] = []
    private var free: [Int] = []
    /// Ids out now.
    public private(set) var inUse = 0

    public init() {}

    /// A fresh id; never 0 and never one handed out before in this slot's last 2^32 uses.
    public mutating func take() -> FeedClientID {
        inUse += 1
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
        } else {
            slot = generations.count
            generations.append(0)
            live.append(false)
        }
        live[slot] = true
        generations[slot] &+= 1
        if generations[slot] == 0 { generations[slot] = 1 }
        return UInt64(generations[slot]) << 32 | UInt64(slot)
    }

    /// The session of `id` has ended; its slot may be handed out again. Ids this did not hand
    /// out, or already took back, are ignored.
    public mutating func giveBack(_ id: FeedClientID) {
        let slot = Int(truncatingIfNeeded: id & 0xFFFF_FFFF)
        guard slot < generations.count, live[slot], UInt64(generations[slot]) == id >> 32 else { return }
        live[slot] = false
        free.append(slot)
        inUse -= 1
    }
}
