extension HubLoop {
    /// What the application attached to each established WebSocket session (its
    /// `userInfo`), so it can walk its own clients without reaching into the registry. Loop thread.
    public func sessionUserInfos() -> [AnyObject] {
        preconditionOnLoop()
        return sessions.values.compactMap(\.userInfo)
    }
}
