/// Retry delays for an unavailable provider: initial, doubling to a maximum, with jitter;
/// a Retry-After from the provider wins (capped at the maximum).
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction of the delay added or removed at random (0.2 = ±20%).
    public var jitter: Double
    private var current: Duration?

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(60), multiplier: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The next delay: the backoff's own, or `retryAfter` when the provider sent one (capped
    /// at the maximum, since a hostile or broken header must not park a run for hours).
    public mutating func next(retryAfter: Duration? = nil, random: inout some RandomNumberGenerator) -> Duration {
        let base: Duration
        if let current {
            base = min(current * multiplier, maximum)
        } else {
            base = min(initial, maximum)
        }
        current = base
        if let retryAfter { return min(max(retryAfter, .zero), maximum) }
        guard jitter > 0 else { return base }
        let factor = 1 + Double.random(in: -jitter...jitter, using: &random)
        return min(max(base * factor, .zero), maximum)
    }

    /// Back to the initial delay after a success.
    public mutating func reset() { current = nil }
}
