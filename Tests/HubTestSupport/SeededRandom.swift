import Foundation

/// A deterministic generator for randomised tests: the same seed replays the same run.
/// The seed is `CHUB_TEST_SEED` when set (to replay a failure), else the test's default;
/// tests put `seedNote` in their failure messages so a failure says how to replay it.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public let seed: UInt64
    private var state: UInt64

    /// A generator seeded from `CHUB_TEST_SEED` or, without it, from `defaultSeed`.
    public init(defaultSeed: UInt64) {
        let fromEnvironment = ProcessInfo.processInfo.environment["CHUB_TEST_SEED"].flatMap { UInt64($0) }
        seed = fromEnvironment ?? defaultSeed
        state = seed
    }

    /// Appended to assertion messages: how to replay this exact sequence.
    public var seedNote: String { "(seed \(seed); replay with CHUB_TEST_SEED=\(seed))" }

    // SplitMix64: small, fast and good enough to spread test inputs.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
