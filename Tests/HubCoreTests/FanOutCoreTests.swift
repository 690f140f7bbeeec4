import Foundation
import HubCore
import HubTestSupport
import XCTest

/// The fan-out's decisions one at a time: how a drain's notifications land in a run topic,
/// and the cases behind a run card that stopped updating while its socket stayed open.
final class FanOutCoreTests: XCTestCase {
    let org = UUID()
    let run = UUID()
    var key: String { run.uuidString.lowercased() }
    let client: FeedClientID = 7
    let limits = FeedLimits(pageSize: 3, snapshotItems: 2, maxQueuedBytesPerClient: 2000)
    let empty: QueueDepth = { _ in 0 }

    func item(_ seq: Int64) -> String { "{\"type\":\"item\",\"run\":\"\(key)\",\"seq\":\(seq)}" }

    func items(_ lo: Int64, _ hi: Int64, inline: Bool = true) -> [UInt8] {
        let head = "{\"k\":\"items\",\"org\":\"\(org.uuidString.lowercased())\",\"run\":\"\(key)\",\"lo\":\(lo),\"hi\":\(hi)"
        return Array((inline ? head + ",\"ev\":[" + (lo...hi).map(item).joined(separator: ",") + "]}" : head + "}").utf8)
    }

    func runEvent(_ marker: String) -> (payload: [UInt8], event: String) {
        let event = "{\"type\":\"run\",\"run\":\"\(key)\",\"status\":\"\(marker)\"}"
        return (Array("{\"k\":\"run\",\"org\":\"\(org.uuidString.lowercased())\",\"run\":\"\(key)\",\"seq\":0,\"status_changed\":false,\"ev\":\(event)}".utf8), event)
    }

    func page(_ lo: Int64, _ hi: Int64) -> ItemEventPage {
        hi < lo ? .empty : ItemEventPage(events: (lo...hi).map { Array(item($0).utf8) }, lo: lo, hi: hi)
    }

    func snapshot(seq: Int64, items: ItemEventPage = .empty) -> FeedReadResult {
        .snapshot(RunEventSnapshot(runEvent: Array("{\"type\":\"run\"}".utf8), runSeq: seq, items: items))
    }

    @discardableResult
    func notify(_ core: inout FanOutCore, _ bytes: [UInt8]) -> [FeedAction] {
        core.notified(NotificationPayload.parse(bytes)!, bytes, depth: empty)
    }

    /// A core with `client` subscribed and live at `seq`.
    func liveCore(at seq: Int64) -> FanOutCore {
        var core = FanOutCore(limits: limits)
        _ = core.listenChanged(connected: true, depth: empty)
        let actions = core.subscribe(client, run: run, org: org, since: nil, depth: empty)
        _ = core.readDone(reads(actions)[0], snapshot(seq: seq), depth: empty)
        return core
    }

    func reads(_ actions: [FeedAction]) -> [FeedRead] {
        actions.compactMap { if case .read(let r) = $0 { r } else { nil } }
    }

    func sent(_ actions: [FeedAction]) -> [String] {
        actions.compactMap { if case .send(_, let f, _) = $0 { String(decoding: f.bytes, as: UTF8.self) } else { nil } }
    }

    func errors(_ actions: [FeedAction]) -> [ProtocolError.Code] {
        actions.compactMap { if case .error(_, let e, _) = $0 { e.code } else { nil } }
    }

    func wakes(_ actions: [FeedAction]) -> [FeedWake] {
        actions.compactMap { if case .wake(_, let w) = $0 { w } else { nil } }
    }

    func testContiguousItemsJoinOneWaveAndRepeatsAreDropped() {
        var core = liveCore(at: 0)
        notify(&core, items(1, 2))
        notify(&core, items(3, 3))
        notify(&core, items(2, 3))  // already seen: a second hub's replay, or a duplicate drain
        notify(&core, items(4, 5))
        XCTAssertEqual(core.feeds[key]?.lastSeq, 5)
        XCTAssertEqual(core.feeds[key]?.wave.lo, 1)
        XCTAssertEqual(core.feeds[key]?.wave.hi, 5)
        XCTAssertFalse(core.feeds[key]!.backfilling)
        let out = core.flush(depth: empty)
        XCTAssertEqual(sent(out), ["[" + (1...5).map(item).joined(separator: ",") + "]"], "one frame for the drain")
        XCTAssertTrue(core.feeds[key]!.wave.isEmpty, "the flush hands the wave on and starts a new one")
    }

    func testRunStateCoalescesLatestWinsAndRidesWithTheItems() {
        var core = liveCore(at: 0)
        let a = runEvent("running"), b = runEvent("paused")
        notify(&core, a.payload)
        notify(&core, items(1, 1))
        notify(&core, b.payload)
        XCTAssertEqual(sent(core.flush(depth: empty)), ["[" + item(1) + "," + b.event + "]"])
        XCTAssertEqual(core.feeds[key]?.latestRunEvent.map { String(decoding: $0, as: UTF8.self) }, b.event)
    }

    func testItemsBeforeTheFirstReadWaitThenGoOutOnce() {
        var core = FanOutCore(limits: limits)
        _ = core.listenChanged(connected: true, depth: empty)
        let read = reads(core.subscribe(client, run: run, org: org, since: nil, depth: empty))[0]
        notify(&core, items(1, 2))
        notify(&core, items(3, 4))
        XCTAssertEqual(core.feeds[key]?.queued.count, 2)
        // The read saw items up to 2: the snapshot carries them, the queue adds 3...4.
        let out = core.readDone(read, snapshot(seq: 2, items: page(1, 2)), depth: empty)
        XCTAssertEqual(sent(out).count, 2)
        XCTAssertTrue(sent(out)[0].hasPrefix("{\"type\":\"snapshot\""))
        XCTAssertEqual(sent(out)[1], "[" + item(3) + "," + item(4) + "]")
    }

    func testAGapOrAnEventlessPayloadIsReadFromTheTable() {
        var core = liveCore(at: 2)
        let gapped = notify(&core, items(4, 5))
        XCTAssertTrue(reads(gapped).isEmpty, "first a moment for the missing notification")
        guard let grace = wakes(gapped).first, case .gap = grace else { return XCTFail("no grace: \(gapped)") }
        let out = core.woke(grace, depth: empty)
        guard case .backfill(_, _, let after, _, _, _)? = reads(out).first else { return XCTFail("no backfill: \(out)") }
        XCTAssertEqual(after, 2)
        XCTAssertEqual(core.feeds[key]?.lastSeq, 2, "nothing past the gap is taken until the table has been read")
        // While the read is in flight, further notifications queue behind it, in order.
        XCTAssertTrue(reads(notify(&core, items(6, 6))).isEmpty)
        XCTAssertEqual(core.feeds[key]?.queued.map(\.lo), [4, 6])
        // A full page: sent, and the next page read before the queue.
        let full = core.readDone(reads(out)[0], .page(page(3, 5), runEvent: nil), depth: empty)
        XCTAssertEqual(sent(full), ["[" + (3...5).map(item).joined(separator: ",") + "]"])
        let next = reads(full)
        XCTAssertEqual(next.count, 1)
        let done = core.readDone(next[0], .page(.empty, runEvent: nil), depth: empty)
        XCTAssertEqual(sent(done), ["[" + item(6) + "]"], "the queue after the table, the repeat of 4...5 dropped")

        let big = notify(&core, items(7, 400, inline: false))
        XCTAssertEqual(reads(big).count, 1, "a statement too large to inline is read from the table")
    }

    // MARK: - The stalled run card

    func testSinceAheadOfTheSnapshotIsReadAgainNotRefused() {
        var core = liveCore(at: 4)
        let other: FeedClientID = 8
        // `other` holds 6: its notification was seen before the run row it reads commits.
        let first = reads(core.subscribe(other, run: run, org: org, since: 6, depth: empty))[0]
        let answered = core.readDone(first, snapshot(seq: 4), depth: empty)
        XCTAssertEqual(errors(answered), [], "a since ahead of the snapshot is not refused at once")
        XCTAssertEqual(wakes(answered).count, 1)
        let again = reads(core.woke(wakes(answered)[0], depth: empty))
        XCTAssertEqual(again.count, 1, "the run row is read once more")
        let live = core.readDone(again[0], snapshot(seq: 7, items: page(7, 7)), depth: empty)
        XCTAssertEqual(errors(live), [])
        XCTAssertTrue(core.feeds[key]!.cursors[other]!.isLive)
        XCTAssertTrue(sent(live)[0].contains(item(7)))
        notify(&core, items(5, 8))
        let out = core.flush(depth: empty)
        XCTAssertEqual(out.compactMap { if case .send(let id, let f, _) = $0, id == other { String(decoding: f.bytes, as: UTF8.self) } else { nil } },
                       ["[" + item(8) + "]"], "only what lies past its since")
    }

    func testSinceStillPastTheRunAfterTheSecondReadIsBadSince() {
        var core = liveCore(at: 4)
        let first = reads(core.subscribe(client, run: run, org: org, since: 9000, depth: empty))[0]
        let wake = wakes(core.readDone(first, snapshot(seq: 4), depth: empty))[0]
        let again = reads(core.woke(wake, depth: empty))[0]
        XCTAssertEqual(errors(core.readDone(again, snapshot(seq: 4), depth: empty)), [.badSince])
        XCTAssertNil(core.feeds[key], "the refused subscription is gone")
    }

    func testAReplayIsNotHeldBackByTheWavesBufferedForIt() {
        var core = liveCore(at: 0)
        let other: FeedClientID = 8
        let read = reads(core.subscribe(other, run: run, org: org, since: 0, depth: empty))[0]
        // Live waves buffered while its read is in flight: over half its bound, none queued.
        for lo in stride(from: Int64(1), to: 25, by: 2) {
            notify(&core, items(lo, lo + 1))
            _ = core.flush(depth: empty)
        }
        XCTAssertGreaterThan(core.clients[other]!.bufferedBytes, limits.maxQueuedBytesPerClient / 2)
        let out = core.readDone(read, snapshot(seq: 24, items: page(1, 3)), depth: empty)
        XCTAssertEqual(reads(out).count, 1, "the next page is read at once, not after a drain that cannot come")
        XCTAssertTrue(wakes(out).isEmpty)
    }

    func testAFailedSnapshotReadIsRetriedThenAnswered() {
        var core = FanOutCore(limits: limits)
        _ = core.listenChanged(connected: true, depth: empty)
        var read = reads(core.subscribe(client, run: run, org: org, since: nil, depth: empty))[0]
        for attempt in 1..<limits.snapshotAttempts {
            let out = core.readDone(read, .failed, depth: empty)
            XCTAssertEqual(errors(out), [], "attempt \(attempt) is retried quietly")
            read = reads(core.woke(wakes(out)[0], depth: empty))[0]
        }
        XCTAssertEqual(errors(core.readDone(read, .failed, depth: empty)), [.unavailable])
        XCTAssertNil(core.feeds[key], "answered and dropped, never left without a read")
        XCTAssertEqual(core.runSubscriptions, 0)
    }

    func testASecondSubscriberWhoseOlderReadAnswersLastReadsWhatTheTopicHandedOut() {
        var core = FanOutCore(limits: limits)
        _ = core.listenChanged(connected: true, depth: empty)
        let other: FeedClientID = 8
        let slow = reads(core.subscribe(other, run: run, org: org, since: nil, depth: empty))[0]
        // Another question (a `since`), so its own read rather than a share of the first.
        let fast = reads(core.subscribe(client, run: run, org: org, since: 1, depth: empty))[0]
        notify(&core, items(1, 3))
        _ = core.readDone(fast, snapshot(seq: 3, items: page(2, 3)), depth: empty)
        // The older read saw the run at 0; the topic already took 1...3 from the queue.
        let out = core.readDone(slow, snapshot(seq: 0), depth: empty)
        guard case .replay(let id, _, _, let after, _)? = reads(out).first else { return XCTFail("no replay: \(out)") }
        XCTAssertEqual(id, other)
        XCTAssertEqual(after, 0)
    }

    /// The first read began before LISTEN was up and answers after it, with a gap queued:
    /// the gap's backfill goes first, and the run row (changes made before LISTEN came up
    /// were never notified) is still owed after it and read next. It was dropped, and the
    /// card kept a state the run had left.
    func testARunRefreshOwedBehindAGapBackfillIsStillRead() {
        var core = FanOutCore(limits: limits)
        let first = reads(core.subscribe(client, run: run, org: org, since: nil, depth: empty))
        _ = core.listenChanged(connected: true, depth: empty)
        notify(&core, items(3, 3, inline: false))
        let gap = reads(core.readDone(first[0], snapshot(seq: 0), depth: empty))
        guard case .backfill(_, _, 0, false, _, _)? = gap.first, gap.count == 1 else { return XCTFail("the gap first: \(gap)") }
        let next = core.readDone(gap[0], .page(page(1, 3), runEvent: nil), depth: empty)
        guard case .backfill(_, _, 3, true, _, _)? = reads(next).first else { return XCTFail("the run row next: \(next)") }
        let paused = runEvent("paused").event
        let out = core.readDone(reads(next)[0], .page(.empty, runEvent: Array(paused.utf8)), depth: empty)
        XCTAssertEqual(sent(out), ["[" + paused + "]"])
        XCTAssertTrue(reads(out).isEmpty, "settled")
    }

    /// A run row read before a change and answered after its notification went out is older
    /// than what the clients have: it is not sent over it.
    func testARunRowReadOlderThanANotifiedChangeIsNotSentOverIt() {
        var core = liveCore(at: 0)
        _ = core.listenChanged(connected: false, depth: empty)
        let refresh = reads(core.listenChanged(connected: true, depth: empty))
        guard case .backfill(_, _, _, true, _, _)? = refresh.first else { return XCTFail("a refresh: \(refresh)") }
        let paused = runEvent("paused")
        notify(&core, paused.payload)
        XCTAssertEqual(sent(core.flush(depth: empty)), ["[" + paused.event + "]"])
        let out = core.readDone(refresh[0], .page(.empty, runEvent: Array(runEvent("running").event.utf8)), depth: empty)
        XCTAssertTrue(sent(out).isEmpty, "the older row stays unsent: \(sent(out))")
    }

    /// Subscribers asking the same question while its read is in flight share that read and
    /// one snapshot frame; once the topic hands out a wave, a newcomer asks again.
    func testSubscribersWithTheSameQuestionShareOneReadUntilTheNextWave() {
        var core = FanOutCore(limits: limits)
        _ = core.listenChanged(connected: true, depth: empty)
        let first = reads(core.subscribe(1, run: run, org: org, since: nil, depth: empty))
        XCTAssertEqual(first.count, 1)
        XCTAssertTrue(reads(core.subscribe(2, run: run, org: org, since: nil, depth: empty)).isEmpty, "joins the read in flight")
        XCTAssertEqual(reads(core.subscribe(3, run: run, org: org, since: 2, depth: empty)).count, 1, "another since, another read")
        let out = core.readDone(first[0], snapshot(seq: 2, items: page(1, 2)), depth: empty)
        let frames = out.compactMap { if case .send(let id, let f, _) = $0 { (id, f) } else { nil } }
        XCTAssertEqual(frames.map(\.0), [1, 2] as [FeedClientID])
        XCTAssertTrue(frames[0].1 === frames[1].1, "one frame for both")
        XCTAssertEqual(core.snapshotsShared, 1)

        let asked = reads(core.subscribe(4, run: run, org: org, since: nil, depth: empty))
        XCTAssertEqual(asked.count, 1)
        notify(&core, items(3, 3))
        _ = core.flush(depth: empty)
        let again = reads(core.subscribe(5, run: run, org: org, since: nil, depth: empty))
        XCTAssertEqual(again.count, 1, "the topic handed out item 3 after the read was asked: a newcomer asks again")
        // The asker leaves before the answer: the one who joined still gets it.
        XCTAssertTrue(reads(core.subscribe(6, run: run, org: org, since: nil, depth: empty)).isEmpty)
        core.clientClosed(5)
        let late = core.readDone(again[0], snapshot(seq: 3, items: page(2, 3)), depth: empty)
        XCTAssertEqual(late.compactMap { if case .send(let id, _, _) = $0 { id } else { nil } }, [6] as [FeedClientID])
    }

    /// Two writers commit in another order than they took their sequence numbers: the items
    /// after the gap wait a moment, the missing notification arrives, and both go out in
    /// order without a table read. A gap that stays is read when the moment is over.
    func testAGapFilledByTheNextNotificationIsNotRead() {
        var core = liveCore(at: 0)
        let early = notify(&core, items(3, 4))
        XCTAssertTrue(reads(early).isEmpty)
        XCTAssertTrue(sent(core.flush(depth: empty)).isEmpty, "nothing past the gap goes out")
        XCTAssertTrue(reads(notify(&core, items(1, 2))).isEmpty)
        XCTAssertEqual(sent(core.flush(depth: empty)), ["[" + (1...4).map(item).joined(separator: ",") + "]"])
        XCTAssertTrue(reads(core.woke(wakes(early)[0], depth: empty)).isEmpty, "filled: nothing to read")
        XCTAssertEqual(core.gapsFilled, 1)

        let stays = notify(&core, items(6, 6))
        XCTAssertEqual(wakes(stays).count, 1)
        XCTAssertTrue(wakes(notify(&core, items(7, 7))).isEmpty, "one moment per gap")
        guard case .backfill(_, _, 4, _, _, _)? = reads(core.woke(wakes(stays)[0], depth: empty)).first else {
            return XCTFail("the gap is read once its moment is over")
        }
    }

    func testASlowClientIsClosedOnceAndFreedAtOnce() {
        var core = liveCore(at: 0)
        let full: QueueDepth = { _ in self.limits.maxQueuedBytesPerClient }
        notify(&core, items(1, 1))
        let out = core.flush(depth: full)
        guard case .closeSlow(let id, let bytes)? = out.first else { return XCTFail("not closed: \(out)") }
        XCTAssertEqual(id, client)
        XCTAssertGreaterThan(bytes, limits.maxQueuedBytesPerClient)
        notify(&core, items(2, 2))
        XCTAssertTrue(core.flush(depth: full).isEmpty, "nothing more for a closed client")
        XCTAssertEqual(core.clients[client]?.bufferedBytes, 0)
    }
}
