import Foundation
import HubCore
import HubStore

/// Subscribing, replaying from the tables, badges and the resync after a LISTEN outage.
extension FanOut {
    /// Loop thread.
    func subscribe(_ client: ClientState, _ topic: Topic, since: Int64?) {
        if client.subscriptionCount >= maxSubscriptionsPerClient {
            sendControl(JSONText.error(ProtocolError(.tooManySubscriptions, "at most \(maxSubscriptionsPerClient) subscriptions per connection"),
                                       topic: topic.description), to: client)
            return
        }
        switch topic {
        case .org:
            subscribeOrg(client)
        case .run(let runID):
            guard client.principal.has(Permission.adminAutomation) else {
                sendControl(JSONText.error(ProtocolError(.forbidden, "run topics need the admin.automation permission"), topic: topic.description), to: client)
                return
            }
            subscribeRun(client, runID, since: since)
        }
    }

    /// Loop thread.
    func unsubscribe(_ client: ClientState, _ topic: Topic) {
        switch topic {
        case .org:
            removeOrgSubscription(client)
        case .run(let runID):
            removeRunSubscription(client, runID.uuidString.lowercased())
        }
        sendControl("{\"type\":\"unsubscribed\",\"topic\":\(JSONText.quote(topic.description))}", to: client)
    }

    /// Loop thread: the session is gone.
    func clientClosed(_ client: ClientState) {
        for key in Array(client.runs.keys) { removeRunSubscription(client, key) }
        removeOrgSubscription(client)
    }

    private func removeOrgSubscription(_ client: ClientState) {
        guard client.orgSubscribed else { return }
        client.orgSubscribed = false
        metrics.subscriptions -= 1
        let key = client.principal.orgID.uuidString.lowercased()
        if let org = orgTopics[key] {
            org.subscribers[ObjectIdentifier(client)] = nil
            if org.subscribers.isEmpty { orgTopics[key] = nil }
        }
    }

    func removeRunSubscription(_ client: ClientState, _ key: String) {
        guard let sub = client.runs.removeValue(forKey: key) else { return }
        _ = releaseBuffered(sub, of: client)
        metrics.subscriptions -= 1
        if let topic = runTopics[key] {
            topic.subscribers[ObjectIdentifier(client)] = nil
            if topic.subscribers.isEmpty { runTopics[key] = nil }
        }
    }

    private func subscribeOrg(_ client: ClientState) {
        let orgID = client.principal.orgID
        let key = orgID.uuidString.lowercased()
        if !client.orgSubscribed {
            client.orgSubscribed = true
            metrics.subscriptions += 1
        }
        let topic = orgTopics[key] ?? { let t = OrgTopic(key: key, orgID: orgID); orgTopics[key] = t; return t }()
        topic.subscribers[ObjectIdentifier(client)] = client
        let epoch = currentReadEpoch
        db.run(pool) { [weak self] pool in
            let result = Result { try pool.withConnection { c in (try FanOutQueries.orgRuns(c, org: orgID), try FanOutQueries.badge(c, org: orgID)) } }
            self?.loop?.post { [weak self] in
                guard let self, client.orgSubscribed else { return }
                switch result {
                case .success(let (runs, badge)):
                    var text = Array("{\"type\":\"snapshot\",\"topic\":\"org\",\"runs\":[".utf8)
                    text += runs.map(\.event).joinedWithCommas()
                    text += Array("],\"badge\":".utf8) + badge + [UInt8(ascii: "}")]
                    self.send(SharedFrame(bytes: text), to: client, events: runs.count + 1)
                    if self.missedNotifications(since: epoch) { self.refreshOrg(topic) }
                case .failure(let error):
                    self.logger.warning("org snapshot failed: \(error)")
                    self.sendControl(JSONText.error(ProtocolError(.unavailable, "the database is not reachable; retry"), topic: "org"), to: client)
                }
            }
        }
    }

    private func subscribeRun(_ client: ClientState, _ runID: UUID, since: Int64?) {
        let key = runID.uuidString.lowercased()
        // ClientMessage bounds `since`; a caller that did not is answered, never trapped.
        guard let cursor = StreamCursor(since: since ?? 0) else {
            sendControl(JSONText.error(ProtocolError(.badSince, "since must be between 0 and \(SequenceNumber.max)"),
                                       topic: "run:" + key), to: client)
            return
        }
        if client.runs[key] != nil { removeRunSubscription(client, key) }
        // Join the topic before reading the table: whatever commits after the read is
        // then caught as a live wave, and buffered until the read is sent.
        let topic = runTopics[key] ?? { let t = RunTopic(key: key, runID: runID); runTopics[key] = t; return t }()
        let sub = RunSubscription(cursor: cursor)
        client.runs[key] = sub
        topic.subscribers[ObjectIdentifier(client)] = client
        metrics.subscriptions += 1
        let orgID = client.principal.orgID, snapshotItems = config.snapshotItems, limit = pageSize
        let epoch = currentReadEpoch
        db.run(pool) { [weak self] pool in
            let result = Result { () -> (run: (event: [UInt8], seq: Int64), items: [[UInt8]], lastItemSeq: Int64)? in
                try pool.withConnection { c in
                    guard let run = try FanOutQueries.run(c, run: runID, org: orgID) else { return nil }
                    if let since {
                        let page = try FanOutQueries.items(c, run: runID, afterSeq: since, limit: limit)
                        return (run, page.events, page.events.isEmpty ? since : page.hi)
                    }
                    return (run, try FanOutQueries.recentItems(c, run: runID, upTo: run.seq, count: snapshotItems), run.seq)
                }
            }
            self?.loop?.post { [weak self] in self?.runSnapshotRead(client, topic, sub, since: since, epoch: epoch, result) }
        }
    }

    private func runSnapshotRead(_ client: ClientState, _ topic: RunTopic, _ sub: RunSubscription, since: Int64?, epoch: Int,
                                 _ result: Result<(run: (event: [UInt8], seq: Int64), items: [[UInt8]], lastItemSeq: Int64)?, Error>) {
        guard client.runs[topic.key] === sub else { return }
        let topicName = "run:" + topic.key
        switch result {
        case .failure(let error):
            logger.warning("run snapshot failed: \(error)")
            removeRunSubscription(client, topic.key)
            sendControl(JSONText.error(ProtocolError(.unavailable, "the database is not reachable; subscribe again"), topic: topicName), to: client)
        case .success(nil):
            // Unknown and foreign runs answer alike, so ids of other orgs stay secret.
            removeRunSubscription(client, topic.key)
            sendControl(JSONText.error(ProtocolError(.notFound, "no such run"), topic: topicName), to: client)
        case .success(let read?) where !sub.cursor.isWithin(runSeq: read.run.seq):
            // A position the run has not reached cannot have been sent to anyone: the
            // client's mistake, answered as such instead of a silent stall.
            removeRunSubscription(client, topic.key)
            sendControl(JSONText.error(ProtocolError(.badSince, "since \(sub.cursor.last) is past the run's last sequence number \(read.run.seq)"),
                                       topic: topicName), to: client)
        case .success(let read?):
            if topic.lastSeq == nil {
                topic.lastSeq = read.run.seq
                let queued = topic.queued
                topic.queued = []
                for (p, bytes) in queued { items(p, bytes, topic) }
                // Commits between this read and LISTEN coming up were never notified.
                if missedNotifications(since: epoch) { backfill(topic, refreshRun: true) }
            }
            var text = Array("{\"type\":\"snapshot\",\"topic\":\(JSONText.quote(topicName)),\"seq\":\(read.run.seq),\"run\":".utf8)
            text += read.run.event
            text += Array(",\"items\":[".utf8) + read.items.joinedWithCommas() + Array("]}".utf8)
            send(SharedFrame(bytes: text), to: client, events: read.items.count + 1)
            sub.cursor.advance(to: read.lastItemSeq)
            if since != nil && read.items.count == pageSize {
                replay(client, topic.runID, topic.key)
            } else {
                goLive(client, sub)
            }
            // Notifications queued during the read are in the topic's wave now; without a
            // flush here they would wait for the next notification, which may never come.
            flush(receivedAt: nil)
        }
    }

    /// Reads the client's next page after its cursor; continues until it has caught up.
    func replay(_ client: ClientState, _ runID: UUID, _ key: String) {
        guard let sub = client.runs[key] else { return }
        // Let the socket drain before reading more: replay never outruns the client.
        if client.bytesHeld > config.maxQueuedBytesPerClient / 2 {
            _ = loop?.schedule(after: .milliseconds(50)) { [weak self] in self?.replay(client, runID, key) }
            return
        }
        metrics.backfills += 1
        let after = sub.cursor.last, limit = pageSize
        db.run(pool) { [weak self] pool in
            let result = Result { try pool.withConnection { c in try FanOutQueries.items(c, run: runID, afterSeq: after, limit: limit) } }
            self?.loop?.post { [weak self] in
                guard let self, client.runs[key] === sub, client.session.isOpen else { return }
                switch result {
                case .failure(let error):
                    self.logger.warning("replay failed, retrying: \(error)")
                    _ = self.loop?.schedule(after: .milliseconds(500)) { [weak self] in self?.replay(client, runID, key) }
                case .success(let page):
                    if !page.events.isEmpty {
                        var frame: [UInt8] = [UInt8(ascii: "[")]
                        frame += page.events.joinedWithCommas()
                        frame.append(UInt8(ascii: "]"))
                        self.send(SharedFrame(bytes: frame, mergeableJSONArray: true), to: client, events: page.events.count)
                        sub.cursor.advance(to: page.hi)
                    }
                    if page.events.count == limit { self.replay(client, runID, key) } else { self.goLive(client, sub) }
                }
            }
        }
    }

    /// Sends what was buffered during the read (only what lies past the cursor) and
    /// switches the subscription to the live path.
    private func goLive(_ client: ClientState, _ sub: RunSubscription) {
        let buffered = releaseBuffered(sub, of: client)
        sub.live = true
        for (index, wave) in buffered.enumerated() {
            if wave.hasItems && sub.cursor.placement(lo: wave.lo, hi: wave.hi) == .gap {
                // Still a gap (the topic backfilled past us): read it, keeping this wave
                // and the ones after it (they would otherwise be lost).
                sub.live = false
                for later in buffered[index...] { buffer(later, for: client, in: sub) }
                if let key = client.runs.first(where: { $0.value === sub })?.key, let topic = runTopics[key] {
                    replay(client, topic.runID, key)
                }
                return
            }
            if let frame = wave.frame(after: sub.cursor.last) {
                send(SharedFrame(bytes: frame, mergeableJSONArray: true), to: client, events: 1)
            }
            if wave.hasItems { sub.cursor.advance(to: wave.hi) }
        }
    }

    /// Recounts an org's badge after a status change; one query in flight per org.
    func recountBadge(_ topic: OrgTopic) {
        if topic.recountInFlight {
            topic.recountAgain = true
            return
        }
        topic.recountInFlight = true
        let orgID = topic.orgID
        db.run(pool) { [weak self] pool in
            let result = Result { try pool.withConnection { try FanOutQueries.badge($0, org: orgID) } }
            self?.loop?.post { [weak self] in
                guard let self else { return }
                topic.recountInFlight = false
                if case .success(let badge) = result, self.orgTopics[topic.key] === topic {
                    topic.pendingBadge = badge
                    self.markDirty(topic)
                    self.flush(receivedAt: nil)
                }
                if (try? result.get()) == nil {
                    _ = self.loop?.schedule(after: .seconds(1)) { [weak self] in
                        if self?.orgTopics[topic.key] === topic { self?.recountBadge(topic) }
                    }
                } else if topic.recountAgain {
                    topic.recountAgain = false
                    self.recountBadge(topic)
                }
            }
        }
    }

    /// Once the LISTEN connection is up (the first time too: clients may subscribe before
    /// it is): notifications sent while it was down are lost, so every topic reads what it
    /// missed from the tables. Topics whose first read is in flight check their epoch.
    func resync() {
        for topic in runTopics.values where topic.lastSeq != nil { backfill(topic, refreshRun: true) }
        for topic in orgTopics.values { refreshOrg(topic) }
    }

    /// Re-reads an org's runs and badge after notifications may have been lost.
    func refreshOrg(_ topic: OrgTopic) {
        recountBadge(topic)
        rereadOrgRuns(topic)
    }

    private func rereadOrgRuns(_ topic: OrgTopic) {
        topic.refreshesInFlight += 1
        let orgID = topic.orgID
        db.run(pool) { [weak self] pool in
            let result = Result { try pool.withConnection { try FanOutQueries.orgRuns($0, org: orgID) } }
            self?.loop?.post { [weak self] in
                topic.refreshesInFlight -= 1
                defer { if topic.refreshesInFlight == 0 { topic.liveDuringRefresh.removeAll() } }
                guard let self, self.orgTopics[topic.key] === topic else { return }
                guard case .success(let runs) = result else {
                    _ = self.loop?.schedule(after: .seconds(1)) { [weak self] in
                        if self?.orgTopics[topic.key] === topic { self?.rereadOrgRuns(topic) }
                    }
                    return
                }
                for (run, event) in runs where !topic.liveDuringRefresh.contains(run) {
                    topic.pendingRuns[run] = event
                }
                self.markDirty(topic)
                self.flush(receivedAt: nil)
            }
        }
    }
}
