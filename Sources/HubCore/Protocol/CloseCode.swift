/// WebSocket close codes the hub sends (docs/PROTOCOL.md); 4xxx are the hub's own.
public enum CloseCode {
    /// The client's outbound queue passed its bound; it reconnects and resumes with `since`.
    public static let slowConsumer: UInt16 = 4008
    public static let slowConsumerReason = "slow consumer: resume with since"
    /// More than the allowed messages a second.
    public static let policyViolation: UInt16 = 1008
    /// A message over `ClientMessage.maxBytes`.
    public static let messageTooBig: UInt16 = 1009
    /// A binary frame: the protocol is text only.
    public static let unsupportedData: UInt16 = 1003
    /// A text frame that is not UTF-8.
    public static let invalidPayload: UInt16 = 1007
    /// No valid credentials.
    public static let unauthorized: UInt16 = 4401
    /// Valid credentials without the permission.
    public static let forbidden: UInt16 = 4403
}
