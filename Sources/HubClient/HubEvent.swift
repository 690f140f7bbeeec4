import Foundation

/// One message from the hub as `HubSubscriber` hands it over: an event of a feed (`item`,
/// `seller`, `run`, `budget_warning`, `badge`) or a control message (`hello`, `snapshot`,
/// `unsubscribed`, `pong`, `error`). See docs/PROTOCOL.md for the fields of each.
public struct HubEvent: Sendable, Equatable {
    /// The message's `type`.
    public let type: String
    /// The run it belongs to (`run` field), when it names one.
    public let run: UUID?
    /// The run sequence number (`seq` field), when it carries one. For `item` and `seller`
    /// events this is the item's own number: 1, 2, 3… once each, in order.
    public let seq: Int64?
    /// The `topic` field of a control message (`snapshot`, `error`, `unsubscribed`).
    public let topic: String?
    /// The `code` of an `error` message.
    public let errorCode: String?
    /// The message as one JSON object.
    public let json: Data

    /// Splits one text frame of the hub into messages: an array frame holds events, an
    /// object frame is one control message; a run snapshot's `items` follow it as `item`
    /// and `seller` events, so a consumer of items needs only look at those. Nil when the
    /// frame is not JSON of that shape.
    static func parse(frame: [UInt8]) -> [HubEvent]? {
        guard let json = try? JSONSerialization.jsonObject(with: Data(frame)) else { return nil }
        if let events = json as? [[String: Any]] {
            return events.compactMap(HubEvent.init(object:))
        }
        guard let object = json as? [String: Any], let message = HubEvent(object: object) else { return nil }
        let items = message.type == "snapshot" ? (object["items"] as? [[String: Any]] ?? []) : []
        return [message] + items.compactMap(HubEvent.init(object:))
    }

    init?(object: [String: Any]) {
        guard let type = object["type"] as? String,
              let json = try? JSONSerialization.data(withJSONObject: object) else { return nil }
        self.type = type
        self.run = (object["run"] as? String).flatMap(UUID.init(uuidString:))
        self.seq = (object["seq"] as? NSNumber)?.int64Value
        self.topic = object["topic"] as? String
        self.errorCode = type == "error" ? object["code"] as? String : nil
        self.json = json
    }

    /// True for the events that carry an item's own sequence number.
    public var isItem: Bool { type == "item" || type == "seller" }
}
