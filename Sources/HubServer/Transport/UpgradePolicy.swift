import Foundation

/// What the transport itself requires of an upgrade before `WebSocketHandler.shouldAccept`
/// sees it: a WebSocket upgrade, on the WebSocket path, offering our subprotocol (or none).
/// A plain value, tested without sockets; any thread.
struct UpgradePolicy: Sendable {
    /// The one path that upgrades (`HubLoopConfig.wsPath`).
    let path: String
    /// Our subprotocol (`HubLoopConfig.wsProtocolName`).
    let subprotocol: String
    /// Names a client must never select (the raw-file protocol).
    let reservedSubprotocols: [String]

    /// Why an upgrade is answered with plain HTTP instead.
    struct Refusal: Equatable, Sendable {
        let status: Int
        let code: String
        let message: String
    }

    /// nil: go on to the handler's decision.
    func check(upgrade kind: String, path requested: String, offeredSubprotocols: String?) -> Refusal? {
        guard kind.lowercased() == "websocket" else {
            // e.g. "h2c": lws 4.1 cannot decline an upgrade and go on as HTTP/1.1.
            return Refusal(status: 400, code: "upgrade_not_supported", message: "unsupported upgrade: \(kind)")
        }
        guard requested == path else {
            return Refusal(status: 404, code: "not_found", message: "no WebSocket endpoint at this path")
        }
        // lws picks the first offered name that matches ANY protocol of the vhost (it would
        // hang up on no match): answer unusable offers with a proper 400 instead.
        let offered = (offeredSubprotocols ?? "")
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !offered.isEmpty && (!offered.contains(subprotocol) || offered.contains(where: reservedSubprotocols.contains)) {
            return Refusal(status: 400, code: "unsupported_subprotocol", message: "supported subprotocol: \(subprotocol)")
        }
        return nil
    }
}
