import Foundation

/// What a first read asks of the table: the same question gets the same answer.
struct SnapshotQuestion: Hashable, Sendable {
    let org: UUID
    let since: Int64?
    let epoch: Int
}

/// One first read in flight and the subscribers who share it (the one who asked first
/// carries the read; the others joined while it ran).
struct SharedSnapshot: Sendable {
    let key: String
    let question: SnapshotQuestion
    var joiners: [(client: FeedClientID, ticket: Int)] = []
}

/// First reads shared between subscribers. A page load by a thousand users, or ten thousand
/// clients coming back at once with the same `since`, asks the table the same question: one
/// read answers them all, and the snapshot frame is built once.
///
/// Joining a read in flight is the same as having asked it, as long as the topic handed
/// out nothing since it was asked: every wave after that is buffered for the joiner exactly
/// as for the one who asked. So a topic's open question closes with its first wave (and a
/// new LISTEN epoch is a different question).
extension FanOutCore {
    /// Asks for `client`'s first read, or joins the same question already in flight.
    mutating func requestSnapshot(_ client: FeedClientID, _ key: String, runID: UUID, org: UUID, since: Int64?,
                                  ticket: Int, mayJoin: Bool = true, _ b: inout Batch) {
        let question = SnapshotQuestion(org: org, since: since, epoch: readEpoch)
        if mayJoin, let leader = feeds[key]?.openQuestions[question], sharedSnapshots[leader] != nil {
            sharedSnapshots[leader]!.joiners.append((client, ticket))
            snapshotsShared += 1
            return
        }
        feeds[key]?.openQuestions[question] = ticket
        sharedSnapshots[ticket] = SharedSnapshot(key: key, question: question)
        b.actions.append(.read(.snapshot(client: client, run: runID, org: org, since: since, ticket: ticket, epoch: readEpoch)))
    }

    /// The topic handed out a wave: reads in flight no longer answer a newcomer's question.
    mutating func closeQuestions(_ key: String) {
        if feeds[key]?.openQuestions.isEmpty == false { feeds[key]!.openQuestions.removeAll() }
    }

    /// A first read answered: everyone who shared it gets the answer, in the order they asked.
    mutating func snapshotAnswered(_ read: FeedRead, _ result: FeedReadResult, _ b: inout Batch) {
        guard case .snapshot(let client, let runID, _, _, let ticket, let epoch) = read else { return }
        var everyone = [(client: client, ticket: ticket)]
        if let shared = sharedSnapshots.removeValue(forKey: ticket) {
            if feeds[shared.key]?.openQuestions[shared.question] == ticket { feeds[shared.key]!.openQuestions[shared.question] = nil }
            everyone += shared.joiners
        }
        var frame: FeedFrame?
        for (client, ticket) in everyone {
            if case .snapshot(let snapshot) = result {
                snapshotRead(client, runID, ticket, epoch, snapshot, frame: &frame, &b)
            } else {
                snapshotFailed(client, runID, ticket, &b)
            }
        }
    }
}
