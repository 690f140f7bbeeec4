import Foundation
import HubCore

/// Settings of the engine in one process.
public struct EngineConfig: Sendable {
    /// This process's lease owner name (host:pid:random by default).
    public var owner: String = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt16.random(in: 0...UInt16.max))"
    /// A run whose owner stops heartbeating is taken over after this long.
    public var leaseTimeout: Duration = .seconds(10)
    /// How often the scheduler looks for work.
    public var pollInterval: Duration = .milliseconds(200)
    /// Price of one paid call per provider.
    public var unitCosts = UnitCosts()
    /// Retry delays while a provider is unavailable.
    public var backoff = Backoff(initial: .seconds(1), maximum: .seconds(60), multiplier: 2, jitter: 0.2)
    /// Items per commit at most; a batch is also committed once it is `batchMaxAge` old (or,
    /// while the previous commit is still in flight, once that one is in).
    public var batchMaxItems = 200
    public var batchMaxAge: Duration = .milliseconds(5)
    /// Executors per process at most.
    public var maxExecutors = 16
    /// Executors one org may hold in this process at once (nil: three quarters of
    /// `maxExecutors`), so another org's new run finds a free executor.
    public var maxExecutorsPerOrg: Int?
    /// Paces lease heartbeats and retry waits (tests move one by hand).
    public var clock: any TimeSource = SystemTimeSource()
    /// The per-org executor cap in effect.
    public var effectiveMaxExecutorsPerOrg: Int { maxExecutorsPerOrg ?? max(1, maxExecutors * 3 / 4) }

    public init() {}

    /// `callTimeout`: the provider's bound on one call (see `CollectionProvider.callTimeout`).
    public func validate(callTimeout: Duration? = nil) throws {
        guard leaseTimeout >= .milliseconds(300) else { throw EngineError.invalidConfig("lease timeout must be at least 300 ms") }
        if let callTimeout, callTimeout > leaseTimeout / 3 {
            // A call may only start while the lease outlasts it; heartbeats come every third of
            // the lease, so a longer call would wait for the lease or outlive it.
            throw EngineError.invalidConfig("the provider timeout (\(callTimeout)) must be at most a third of the lease timeout (\(leaseTimeout))")
        }
        guard maxExecutors >= 1 else { throw EngineError.invalidConfig("at least one executor") }
        guard (1...maxExecutors).contains(effectiveMaxExecutorsPerOrg) else {
            throw EngineError.invalidConfig("executors per org must be between 1 and \(maxExecutors)")
        }
        guard batchMaxItems >= 1 else { throw EngineError.invalidConfig("batch size must be at least 1") }
        guard unitCosts.amazonProductCallCents >= 0, unitCosts.ebaySellerCallCents >= 0 else {
            throw EngineError.invalidConfig("unit costs cannot be negative")
        }
    }
}

/// Engine failures surfaced to operators.
public enum EngineError: Error, CustomStringConvertible {
    case invalidConfig(String)
    public var description: String {
        switch self {
        case .invalidConfig(let s): return "invalid engine configuration: \(s)"
        }
    }
}
