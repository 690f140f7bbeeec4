/// How long a provider call takes when nothing gets in its way: the shortest of the last few.
/// A loaded machine only ever makes a call look slower (the thread waited for a core), so
/// the minimum tells a slow provider (every call slow) from a busy machine (some calls slow),
/// where a smoothed mean would take the busy machine for a slow provider.
public struct CallPace: Sendable, Equatable {
    private var recent: [Duration] = []
    private var next = 0
    /// Calls remembered.
    public let window: Int

    public init(window: Int = 8) { self.window = max(1, window) }

    public mutating func record(_ duration: Duration) {
        if recent.count < window {
            recent.append(duration)
        } else {
            recent[next] = duration
        }
        next = (next + 1) % window
    }

    /// The shortest recent call; zero before any.
    public var typical: Duration { recent.min() ?? .zero }
}
