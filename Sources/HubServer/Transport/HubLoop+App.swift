extension HubLoop {
    /// What the application attached to each established WebSocket session (its
    /// `userInfo`), so it can walk its own clients without reaching into the registry. Loop thread.
    public func sessionUserInfos() -> [AnyObject] {
        preconditionOnLoop()
        return sessions.values.compactMap(\.userInfo)
    }

    /// The longest single callback (lws callback or timer) since the previous call: how
    /// long the loop kept everything else waiting. Loop thread.
    public func takeLongestCallback() -> Duration {
        preconditionOnLoop()
        return core.stall.take()
    }
}
