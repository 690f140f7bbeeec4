import Foundation
import HubCore
import HubStore

/// Subscribing, the org topic's reads (snapshot, badge, refresh after a LISTEN outage).
extension FanOut {
    /// Loop thread.
    func subscribe(_ client: ClientState, _ topic: Topic, since: Int64?) {
        if core.subscriptionCount(client.id) + (client.orgSubscribed ? 1 : 0) >= maxSubscriptionsPerClient {
            sendControl(JSONText.error(ProtocolError(.tooManySubscriptions, "at most \(maxSubscriptionsPerClient) subscriptions per connection"),
                                       topic: topic.description), to: client)
            return
        }
        switch topic {
        case .org:
            clients[client.id] = client
            subscribeOrg(client)
        case .run(let runID):
            guard client.principal.has(Permission.adminAutomation) else {
                sendControl(JSONText.error(ProtocolError(.forbidden, "run topics need the admin.automation permission"), topic: topic.description), to: client)
                return
            }
            clients[client.id] = client
            perform(core.subscribe(client.id, run: runID, org: client.principal.orgID, since: since, depth: depth))
        }
    }

    /// Loop thread.
    func unsubscribe(_ client: ClientState, _ topic: Topic) {
        switch topic {
        case .org:
            removeOrgSubscription(client)
        case .run(let runID):
            core.unsubscribe(client.id, run: runID)
            perform([])
        }
        sendControl("{\"type\":\"unsubscribed\",\"topic\":\(JSONText.quote(topic.description))}", to: client)
    }

    /// Loop thread: the session is gone.
    func clientClosed(_ client: ClientState) {
        core.clientClosed(client.id)
        removeOrgSubscription(client)
        if clients[client.id] === client { clients[client.id] = nil }
        perform([])
    }

    private func removeOrgSubscription(_ client: ClientState) {
        guard client.orgSubscribed else { return }
        client.orgSubscribed = false
        orgSubscriptionsChanged(by: -1)
        let key = client.principal.orgID.uuidString.lowercased()
        if let org = orgTopics[key] {
            org.subscribers[ObjectIdentifier(client)] = nil
            if org.subscribers.isEmpty { orgTopics[key] = nil }
        }
    }

    private func subscribeOrg(_ client: ClientState) {
        let orgID = client.principal.orgID
        let key = orgID.uuidString.lowercased()
        if !client.orgSubscribed {
            client.orgSubscribed = true
            orgSubscriptionsChanged(by: 1)
        }
        let topic = orgTopics[key] ?? { let t = OrgTopic(key: key, orgID: orgID); orgTopics[key] = t; return t }()
        topic.subscribers[ObjectIdentifier(client)] = client
        let epoch = core.listenEpoch, listening = metrics.listenConnected
        // A page load by many users at once asks one read, answered with one frame.
        if let share = topic.openSnapshot, share.epoch == epoch, share.listening == listening {
            share.waiters.append(client)
            metrics.snapshotsShared += 1
            return
        }
        let share = OrgSnapshotShare(first: client, epoch: epoch, listening: listening)
        topic.openSnapshot = share
        let events = self.events
        offLoop({ try events.orgSnapshotRead(org: orgID) }, then: { fanOut, result in
            if topic.openSnapshot === share { topic.openSnapshot = nil }
            var seen = Set<ObjectIdentifier>()  // one snapshot each, however often it asked
            let waiting = share.waiters.filter { $0.orgSubscribed && $0.session.isOpen && seen.insert(ObjectIdentifier($0)).inserted }
            switch result {
            case .success(let (runs, badge)):
                var text = Array("{\"type\":\"snapshot\",\"topic\":\"org\",\"runs\":".utf8)
                text += runs.map(\.event).jsonArray()
                text += Array(",\"badge\":".utf8) + badge + [UInt8(ascii: "}")]
                let frame = FeedFrame(text, mergeable: false)
                for client in waiting {
                    fanOut.perform(fanOut.core.send(frame, events: runs.count + 1, to: client.id, depth: fanOut.depth))
                }
                // LISTEN came up (again) during the read: what it missed is re-read.
                if !waiting.isEmpty, fanOut.metrics.listenConnected && (!listening || epoch != fanOut.core.listenEpoch) { fanOut.refreshOrg(topic) }
            case .failure(let error):
                // Answered and dropped, never left subscribed without a snapshot: the
                // client asks again (client.js retries `unavailable` topics).
                if !waiting.isEmpty { fanOut.logger.warning("org snapshot failed: \(error)") }
                for client in waiting {
                    fanOut.removeOrgSubscription(client)
                    fanOut.sendControl(JSONText.error(ProtocolError(.unavailable, "the database is not reachable; subscribe again"), topic: "org"), to: client)
                }
            }
        })
    }

    /// Recounts an org's badge after a status change; one query in flight per org.
    func recountBadge(_ topic: OrgTopic) {
        if topic.recountInFlight {
            topic.recountAgain = true
            return
        }
        topic.recountInFlight = true
        let orgID = topic.orgID, events = self.events
        offLoop({ try events.orgBadgeRead(org: orgID) }, then: { fanOut, result in
            topic.recountInFlight = false
            if case .success(let badge) = result, fanOut.orgTopics[topic.key] === topic {
                topic.pendingBadge = badge
                fanOut.markDirty(topic)
                fanOut.flush(receivedAt: nil)
            }
            if (try? result.get()) == nil {
                _ = fanOut.loop?.schedule(after: .seconds(1)) { [weak fanOut] in
                    if fanOut?.orgTopics[topic.key] === topic { fanOut?.recountBadge(topic) }
                }
            } else if topic.recountAgain {
                topic.recountAgain = false
                fanOut.recountBadge(topic)
            }
        })
    }

    /// Re-reads an org's runs and badge after notifications may have been lost.
    func refreshOrg(_ topic: OrgTopic) {
        recountBadge(topic)
        rereadOrgRuns(topic)
    }

    private func rereadOrgRuns(_ topic: OrgTopic) {
        topic.refreshesInFlight += 1
        let orgID = topic.orgID, events = self.events
        offLoop({ try events.orgRunEventsRead(org: orgID) }, then: { fanOut, result in
            topic.refreshesInFlight -= 1
            defer { if topic.refreshesInFlight == 0 { topic.liveDuringRefresh.removeAll() } }
            guard fanOut.orgTopics[topic.key] === topic else { return }
            guard case .success(let runs) = result else {
                _ = fanOut.loop?.schedule(after: .seconds(1)) { [weak fanOut] in
                    if fanOut?.orgTopics[topic.key] === topic { fanOut?.rereadOrgRuns(topic) }
                }
                return
            }
            for (run, event) in runs where !topic.liveDuringRefresh.contains(run) {
                topic.pendingRuns[run] = event
            }
            fanOut.markDirty(topic)
            fanOut.flush(receivedAt: nil)
        })
    }
}
