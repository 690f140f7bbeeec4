import Foundation

/// The loops of one process (`serve --loops N`), as one loop sees the others: asks each for
/// its counters through its own post queue and collects the answers back on the asking loop,
/// so no loop reads another's state and none waits for another.
// @unchecked Sendable: immutable after init; each member's state is read only on its own loop.
final class LoopPeers: @unchecked Sendable {
    private let members: [Hub]

    init(_ members: [Hub]) { self.members = members }

    var count: Int { members.count }

    /// Loop thread of `origin`. Calls `done` on that loop with every loop's snapshot, or
    /// with those that answered within `timeout` (a stopping loop may never answer).
    func gather(on origin: HubLoop, takingStall: Bool, timeout: Duration = .seconds(1), _ done: @escaping ([LoopSnapshot]) -> Void) {
        let collector = Collector(expected: members.count, done: done)
        for (index, hub) in members.enumerated() {
            guard let loop = hub.loopForPeers else { continue }
            let h = UncheckedBox(hub), c = UncheckedBox(collector)
            loop.post { [weak origin] in
                var taken = h.value.localSnapshot(takingStall: takingStall)
                taken.loop = index
                let snapshot = taken
                origin?.post { c.value.add(snapshot) }
            }
        }
        _ = origin.schedule(after: timeout) { collector.finish() }
    }

    /// Origin loop only.
    private final class Collector {
        let expected: Int
        var parts: [LoopSnapshot] = []
        var done: (([LoopSnapshot]) -> Void)?
        init(expected: Int, done: @escaping ([LoopSnapshot]) -> Void) {
            self.expected = expected
            self.done = done
        }
        func add(_ s: LoopSnapshot) {
            parts.append(s)
            if parts.count == expected { finish() }
        }
        func finish() {
            guard let done else { return }
            self.done = nil
            done(parts)
        }
    }
}
