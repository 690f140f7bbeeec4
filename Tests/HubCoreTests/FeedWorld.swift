import Foundation
import HubCore
import HubTestSupport

/// A small world around `FanOutCore` for property tests: a table of items per run, a LISTEN
/// socket that drops, repeats and delays notifications, table reads that run late or fail,
/// timers on a virtual clock and clients whose sockets drain when the test says so. It
/// checks, as frames reach each client, that every item arrives exactly once and in order.
struct FeedWorld {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// One client connection and what it has seen of each run.
    struct Client {
        let id: FeedClientID
        var socket: [[UInt8]] = []
        var queued = 0 { didSet { depths.queued[id] = queued } }
        let depths: Depths
        var closed = false
        /// Runs it follows, and whether their first frame (the snapshot) has come.
        var following: [String: Bool] = [:]
        /// Runs subscribed without `since`: the snapshot says where the stream starts.
        var fresh: Set<String> = []
        /// Per run: the last item sequence number received (kept across reconnects and
        /// unsubscribes: the `since` of the next subscribe).
        var last: [String: Int64] = [:]
        /// Per run: the version of the latest run state received since subscribing.
        var state: [String: Int] = [:]
    }

    let org: UUID
    let runs: [UUID]
    let keys: [String]
    let limits: FeedLimits
    var core: FanOutCore
    var random: LaneRandom

    /// Items committed per run (sequence numbers 1...n), and run state versions.
    var table: [String: Int64] = [:]
    var runVersion = 0
    /// The version of each run's row as the table holds it now.
    var runStates: [String: Int] = [:]
    var listening = false
    /// Notifications on the LISTEN socket, in arrival order.
    var inbox: [[UInt8]] = []
    /// Reads asked for and not yet run, then run and not yet answered (answers come late).
    var pendingReads: [(read: FeedRead, tableWhenAsked: [String: Int64])] = []
    var answeredReads: [(FeedRead, FeedReadResult)] = []
    var timers: [(due: Int, wake: FeedWake)] = []
    var now = 0
    var clients: [FeedClientID: Client] = [:]
    /// The keys of `clients`, oldest first (ids only grow).
    var clientIDs: [FeedClientID] = []
    var nextClient: FeedClientID = 1
    var failReads = 0.1
    /// What happened, when tracing (a failing interleaving is played again with it on).
    final class Trace { var lines: [String] = [] }
    var trace: Trace?
    func note(_ line: @autoclosure () -> String) { trace?.lines.append("t=\(now) " + line()) }
    var stats = (closedSlow: 0, replays: 0, backfills: 0, staleSnapshots: 0, failedReads: 0, resubscribes: 0)

    init(runs: Int, limits: FeedLimits, random: LaneRandom) {
        var random = random
        // Ids from the seed, so an interleaving replays with the same order of keys.
        self.runs = (0..<runs).map { _ in Self.uuid(&random) }
        self.org = Self.uuid(&random)
        self.keys = self.runs.map { $0.uuidString.lowercased() }
        self.limits = limits
        self.core = FanOutCore(limits: limits)
        self.random = random
        for key in keys {
            table[key] = 0
            runStates[key] = 0
            events[key] = []
        }
    }

    static func uuid(_ random: inout LaneRandom) -> UUID {
        let a = random.next(), b = random.next()
        return UUID(uuid: (UInt8(a & 255), UInt8(a >> 8 & 255), UInt8(a >> 16 & 255), UInt8(a >> 24 & 255), UInt8(a >> 32 & 255),
                           UInt8(a >> 40 & 255), UInt8(a >> 48 & 255) & 0x0f | 0x40, UInt8(a >> 56), UInt8(b & 63 | 128),
                           UInt8(b >> 8 & 255), UInt8(b >> 16 & 255), UInt8(b >> 24 & 255), UInt8(b >> 32 & 255),
                           UInt8(b >> 40 & 255), UInt8(b >> 48 & 255), UInt8(b >> 56)))
    }

    /// Bytes queued per client socket, shared with the core's `QueueDepth`.
    final class Depths { var queued: [FeedClientID: Int] = [:] }
    let depths = Depths()
    var depth: QueueDepth { { [depths] in depths.queued[$0] ?? 0 } }

    /// Item events per run, built once as they commit (index: seq - 1).
    var events: [String: [[UInt8]]] = [:]
    func item(_ key: String, _ seq: Int64) -> [UInt8] { events[key]![Int(seq - 1)] }

    // MARK: - What happens

    /// A statement commits `count` items (a notification, unless nobody listens).
    mutating func commit(_ run: Int, count: Int, inline: Bool = true) {
        let key = keys[run]
        let lo = table[key]! + 1, hi = lo + Int64(count) - 1
        table[key] = hi
        for seq in lo...hi { events[key]!.append(Array("{\"type\":\"item\",\"run\":\"\(key)\",\"seq\":\(seq)}".utf8)) }
        note("commit \(key.prefix(4)) \(lo)...\(hi) inline \(inline) listening \(listening)")
        guard listening else { return }
        let text = "{\"k\":\"items\",\"org\":\"\(org.uuidString.lowercased())\",\"run\":\"\(key)\",\"lo\":\(lo),\"hi\":\(hi)"
        var bytes = Array(text.utf8)
        if inline { bytes += Array(",\"ev\":[".utf8) + events[key]![Int(lo - 1)..<Int(hi)].map { $0 }.joinedWithCommas() + [UInt8(ascii: "]")] }
        inbox.append(bytes + [UInt8(ascii: "}")])
    }

    /// A run state change (a state-only wave: coalesced for backed-up clients).
    mutating func runChanged(_ run: Int) {
        runVersion += 1
        let key = keys[run]
        runStates[key] = runVersion
        note("run \(key.prefix(4)) changes to v\(runVersion) listening \(listening)")
        guard listening else { return }
        let event = "{\"type\":\"run\",\"run\":\"\(key)\",\"v\":\(runVersion)}"
        inbox.append(Array("{\"k\":\"run\",\"org\":\"\(org.uuidString.lowercased())\",\"run\":\"\(key)\",\"seq\":0,\"status_changed\":false,\"ev\":\(event)}".utf8))
    }

    /// The LISTEN socket is read: up to `count` notifications, then a flush.
    mutating func drain(_ count: Int) throws {
        let n = min(count, inbox.count)
        let notes = inbox.prefix(n)
        inbox.removeFirst(n)
        for bytes in notes {
            note("notified " + String(decoding: bytes.prefix(140), as: UTF8.self))
            guard let p = NotificationPayload.parse(bytes) else { throw Failure(description: "bad test payload") }
            try perform(core.notified(p, bytes, depth: depth))
        }
        try perform(core.flush(depth: depth))
    }

    /// Both are run-row notifications of the same run.
    func sameRunRow(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard let p = NotificationPayload.parse(a), let q = NotificationPayload.parse(b) else { return false }
        return p.kind == .run && q.kind == .run && p.run == q.run
    }

    mutating func listen(_ up: Bool) throws {
        guard up != listening else { return }
        listening = up
        note("listen \(up)")
        if !up { inbox.removeAll() }  // what the dropped socket held is lost with it
        try perform(core.listenChanged(connected: up, depth: depth))
    }

    /// Runs one asked-for read against the table as it is now (its answer comes later).
    mutating func runRead(_ index: Int, mayFail: Bool) {
        let (read, tableWhenAsked) = pendingReads.remove(at: index)
        note("run read \(read) table \(table.mapValues { $0 })")
        if mayFail && random.chance(failReads) {
            stats.failedReads += 1
            answeredReads.append((read, .failed))
            return
        }
        switch read {
        case .snapshot(_, let run, let readOrg, let since, _, _):
            let key = run.uuidString.lowercased()
            guard readOrg == org else { return answeredReads.append((read, .snapshot(nil))) }
            // The run row is read at some moment after the read was asked for, the items
            // a statement later: they may reach past the row's seq.
            let asked = tableWhenAsked[key]!, runSeq = Int64.random(in: asked...table[key]!, using: &random)
            if runSeq < table[key]! { stats.staleSnapshots += 1 }
            let items = since.map { page(key, after: $0, limit: limits.pageSize) }
                ?? page(key, after: max(0, runSeq - Int64(limits.snapshotItems)), limit: limits.snapshotItems)
            answeredReads.append((read, .snapshot(RunEventSnapshot(runEvent: runEvent(key),
                                                                    runSeq: runSeq, items: items))))
        case .replay(_, let run, _, let after, _):
            stats.replays += 1
            answeredReads.append((read, .page(page(run.uuidString.lowercased(), after: after, limit: limits.pageSize), runEvent: nil)))
        case .backfill(let run, _, let after, let refreshRun, _, _):
            stats.backfills += 1
            let key = run.uuidString.lowercased()
            answeredReads.append((read, .page(page(key, after: after, limit: limits.pageSize),
                                              runEvent: refreshRun ? runEvent(key) : nil)))
        }
    }

    /// The run's event as a read of its row finds it now.
    func runEvent(_ key: String) -> [UInt8] { Array("{\"type\":\"run\",\"run\":\"\(key)\",\"v\":\(runStates[key]!)}".utf8) }

    func page(_ key: String, after: Int64, limit: Int) -> ItemEventPage {
        let last = table[key]!
        guard after < last else { return .empty }
        let hi = min(last, after + Int64(limit))
        return ItemEventPage(events: Array(events[key]![Int(after)..<Int(hi)]), lo: after + 1, hi: hi)
    }

    mutating func answerRead(_ index: Int) throws {
        let (read, result) = answeredReads.remove(at: index)
        note("answer \(read) -> \(result)")
        try perform(core.readDone(read, result, depth: depth))
    }

    mutating func advanceClock(by ms: Int) throws {
        now += ms
        while let index = timers.firstIndex(where: { $0.due <= now }) {
            let wake = timers.remove(at: index).wake
            note("woke \(wake)")
            try perform(core.woke(wake, depth: depth))
        }
    }

    mutating func connect() -> FeedClientID {
        let id = nextClient
        nextClient += 1
        clients[id] = Client(id: id, depths: depths)
        clientIDs.append(id)
        return id
    }

    /// Subscribes as client.js does: with `since` = the last item it has, when it has one.
    mutating func subscribe(_ id: FeedClientID, _ run: Int, useSince: Bool = true) throws {
        let key = keys[run]
        let since = useSince ? clients[id]!.last[key].flatMap { $0 > 0 ? $0 : nil } : nil
        note("client \(id) subscribes \(key.prefix(4)) since \(since.map(String.init) ?? "-")")
        if since == nil {
            clients[id]!.last[key] = nil
            clients[id]!.fresh.insert(key)
        } else {
            clients[id]!.fresh.remove(key)
        }
        clients[id]!.following[key] = false
        clients[id]!.state[key] = nil
        try perform(core.subscribe(id, run: runs[run], org: org, since: since, depth: depth))
    }

    mutating func unsubscribe(_ id: FeedClientID, _ run: Int) {
        let key = keys[run]
        clients[id]!.following[key] = nil
        note("client \(id) unsubscribes \(key.prefix(4))")
        core.unsubscribe(id, run: runs[run])
    }

    /// A state update from outside the run topics (the org topic) for one client.
    mutating func orgState(_ id: FeedClientID) throws {
        runVersion += 1
        let event = Array("{\"type\":\"badge\",\"v\":\(runVersion)}".utf8)
        try perform(core.deliverState(to: id, frame: FeedFrame([UInt8(ascii: "[")] + event + [UInt8(ascii: "]")], mergeable: true),
                                      events: 1, state: [(key: "badge", event: event)], warnings: [], depth: depth))
    }

    /// The client reads up to `count` frames from its socket, checking each item.
    mutating func read(_ id: FeedClientID, frames count: Int) throws {
        for _ in 0..<count {
            guard var client = clients[id], !client.socket.isEmpty else { return }
            let frame = client.socket.removeFirst()
            client.queued -= frame.count
            clients[id] = client
            note("client \(id) reads " + String(decoding: frame.prefix(200), as: UTF8.self))
            try receive(id, frame)
        }
    }

    /// A client closed 4008 (or dropped) reconnects and resumes every run it followed.
    mutating func reconnect(_ id: FeedClientID) throws -> FeedClientID {
        let old = clients.removeValue(forKey: id)!
        clientIDs.removeAll { $0 == id }
        depths.queued[id] = nil
        note("client \(id) reconnects")
        core.clientClosed(id)
        let new = connect()
        clients[new]!.last = old.last
        stats.resubscribes += 1
        for key in old.following.keys.sorted() { try subscribe(new, keys.firstIndex(of: key)!) }
        return new
    }

    // MARK: - Doing what the core says, and checking what arrives

    mutating func perform(_ actions: [FeedAction]) throws {
        for action in actions {
            if case .send(let id, let frame, _) = action {
                note("  send \(id): " + String(decoding: frame.bytes.prefix(200), as: UTF8.self))
            } else {
                note("  \(action)")
            }
            switch action {
            case .send(let id, let frame, _):
                guard var client = clients[id], !client.closed else { throw Failure(description: "a frame for a gone or closed client \(id)") }
                let queue = core.clients[id] ?? ClientQueue()
                let holding = client.queued + queue.bufferedBytes + queue.heldBytes
                if holding > 0 && holding + frame.bytes.count > limits.maxQueuedBytesPerClient {
                    throw Failure(description: "client \(id) holding \(holding) was sent \(frame.bytes.count) bytes, over its bound")
                }
                client.socket.append(frame.bytes)
                client.queued += frame.bytes.count
                clients[id] = client
            case .error(let id, let error, let topic):
                try answered(id, error, topic: topic)
            case .read(let read):
                pendingReads.append((read, table))
            case .wake(let ms, let wake):
                timers.append((now + ms, wake))
            case .closeSlow(let id, let bytes):
                guard bytes > limits.maxQueuedBytesPerClient else { throw Failure(description: "client \(id) closed 4008 holding only \(bytes) bytes") }
                stats.closedSlow += 1
                clients[id]?.closed = true
            }
        }
    }

    mutating func answered(_ id: FeedClientID, _ error: ProtocolError, topic: String) throws {
        let key = String(topic.dropFirst(4))
        switch error.code {
        case .unavailable:
            // client.js asks again shortly; here at once, with its `since`.
            clients[id]?.following[key] = nil
            if clients[id]?.closed == false { try subscribe(id, keys.firstIndex(of: key)!) }
        default:
            throw Failure(description: "client \(id) was answered \(error.code.rawValue) for \(topic): \(error.message)")
        }
    }

    mutating func receive(_ id: FeedClientID, _ frame: [UInt8]) throws {
        let isSnapshot = frame.count > 10 && frame[0] == UInt8(ascii: "{") && frame[9] == UInt8(ascii: "s")  // {"type":"snapshot"
        var seen: [(key: String, seq: Int64)] = []
        Self.scanItems(frame) { seen.append(($0, $1)) }
        var states: [(key: String, version: Int64)] = []
        Self.scan(frame, Self.runHead) { states.append(($0, $1)) }
        if isSnapshot {
            guard let (key, runSeq) = snapshotHeader(frame), clients[id]!.following[key] == false else { return }
            clients[id]!.following[key] = true
            try check(id, key, seen.map(\.seq), isSnapshot: true)
            for (key, version) in states where clients[id]!.following[key] == true { try checkState(id, key, version) }
            // Without `since` the stream goes on after the run's seq as the snapshot saw it.
            if clients[id]!.fresh.contains(key) { clients[id]!.last[key] = max(clients[id]!.last[key] ?? 0, runSeq) }
            return
        }
        for (key, seq) in seen where clients[id]!.following[key] == true {
            try check(id, key, [seq], isSnapshot: false)
        }
        for (key, version) in states where clients[id]!.following[key] == true { try checkState(id, key, version) }
    }

    /// The state a client shows: the newest version it got. An older one may still arrive (a
    /// read that began before a change and answers after it); clients order run states by
    /// `updated_at` (docs/PROTOCOL.md), as the version does here.
    mutating func checkState(_ id: FeedClientID, _ key: String, _ version: Int64) throws {
        clients[id]!.state[key] = max(clients[id]!.state[key] ?? 0, Int(version))
    }

    /// Each item right after the one before: exactly once, in order.
    mutating func check(_ id: FeedClientID, _ key: String, _ seqs: [Int64], isSnapshot: Bool) throws {
        for seq in seqs {
            if let last = clients[id]!.last[key], seq != last + 1 {
                throw Failure(description: "client \(id) got \(key.prefix(8)) seq \(seq) after \(last) (\(isSnapshot ? "snapshot" : "live"))")
            }
            clients[id]!.last[key] = seq
        }
    }

    /// The run key and `seq` of a snapshot frame (`{"type":"snapshot","topic":"run:<key>","seq":N`).
    func snapshotHeader(_ frame: [UInt8]) -> (String, Int64)? {
        let keyStart = 32, seqStart = keyStart + 36 + 8
        guard frame.count > seqStart else { return nil }
        var seq: Int64 = 0, j = seqStart
        while j < frame.count, frame[j] >= 48, frame[j] <= 57 {
            seq = seq * 10 + Int64(frame[j] - 48)
            j += 1
        }
        return (String(decoding: frame[keyStart..<(keyStart + 36)], as: UTF8.self), seq)
    }

    /// Calls `found` for each `{"type":"item","run":"<key>","seq":N` in `bytes`.
    static func scanItems(_ bytes: [UInt8], _ found: (String, Int64) -> Void) { scan(bytes, itemHead, found) }

    /// Calls `found` for each `<head><key>","<one-letter-or-three-letter field>":N` in `bytes`
    /// (`{"type":"item","run":"<key>","seq":N` or `{"type":"run","run":"<key>","v":N`).
    static func scan(_ bytes: [UInt8], _ head: [UInt8], _ found: (String, Int64) -> Void) {
        let fieldSkip = head == itemHead ? 8 : 6  // `","seq":` or `","v":`
        bytes.withUnsafeBufferPointer { p in
            var i = 0
            while i + head.count + 36 < p.count {
                guard p[i] == 123, p[i + 9] == head[9], matches(p, at: i, head) else {  // `{`, `i`tem or `r`un
                    i += 1
                    continue
                }
                let keyStart = i + head.count
                let key = String(decoding: UnsafeBufferPointer(rebasing: p[keyStart..<(keyStart + 36)]), as: UTF8.self)
                var j = keyStart + 36 + fieldSkip
                var seq: Int64 = 0
                while j < p.count, p[j] >= 48, p[j] <= 57 {
                    seq = seq * 10 + Int64(p[j] - 48)
                    j += 1
                }
                found(key, seq)
                i = j
            }
        }
    }

    static let itemHead = Array("{\"type\":\"item\",\"run\":\"".utf8)
    static let runHead = Array("{\"type\":\"run\",\"run\":\"".utf8)

    static func matches(_ p: UnsafeBufferPointer<UInt8>, at i: Int, _ literal: [UInt8]) -> Bool {
        guard i + literal.count <= p.count else { return false }
        for k in 0..<literal.count where p[i + k] != literal[k] { return false }
        return true
    }

    /// Everything that can still happen happens (no failures, no drops), then each open
    /// client must have every item of every run it follows.
    mutating func settle() throws {
        failReads = 0
        try listen(true)
        for _ in 0..<10_000 {
            var progress = false
            for id in clientIDs where clients[id]!.closed {
                _ = try reconnect(id)
                progress = true
            }
            for id in clientIDs where !clients[id]!.socket.isEmpty {
                try read(id, frames: .max)
                progress = true
            }
            if !inbox.isEmpty {
                try drain(.max)
                progress = true
            }
            while !pendingReads.isEmpty {
                runRead(0, mayFail: false)
                progress = true
            }
            while !answeredReads.isEmpty {
                try answerRead(0)
                progress = true
            }
            if progress { continue }
            guard let due = timers.map(\.due).min() else { break }
            try advanceClock(by: max(0, due - now))
        }
        for client in clients.values {
            for (key, hasSnapshot) in client.following {
                guard hasSnapshot, client.last[key] ?? 0 == table[key]! else {
                    throw Failure(description: "client \(client.id) stalled on \(key.prefix(8)): has \(client.last[key] ?? 0) of \(table[key]!), snapshot \(hasSnapshot)")
                }
                guard client.state[key] == runStates[key] else {
                    throw Failure(description: "client \(client.id) shows \(key.prefix(8)) at state v\(client.state[key] ?? -1), the row is at v\(runStates[key]!)")
                }
            }
            let queue = core.clients[client.id] ?? ClientQueue()
            guard queue.bufferedBytes == 0, !queue.isHolding else {
                throw Failure(description: "client \(client.id) still holds \(queue.bufferedBytes) buffered, \(queue.heldBytes) held")
            }
        }
    }

    /// Between steps: every open client within its bound, or holding one frame alone.
    func checkBounds() throws {
        for client in clients.values where !client.closed {
            let queue = core.clients[client.id] ?? ClientQueue()
            let total = queue.bytesHeld(queued: client.queued)
            let oneBigFrame = client.socket.count == 1 && queue.bufferedBytes == 0 && queue.heldBytes == 0
            if total > limits.maxQueuedBytesPerClient && !oneBigFrame {
                throw Failure(description: "client \(client.id) holds \(total) bytes, over its bound, and is not closed")
            }
        }
    }
}

/// One lane of the seeded stream: the seed's numbers salted per lane and mixed, so lanes
/// run side by side and each replays from the seed alike.
struct LaneRandom: RandomNumberGenerator {
    var base: SeededRandom
    let salt: UInt64

    mutating func next() -> UInt64 {
        var z = base.next() ^ salt
        z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
        z = (z ^ (z >> 33)) &* 0xc4ce_b9fe_1a85_ec53
        return z ^ (z >> 33)
    }

    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}
