import ArgumentParser
import Foundation
import HubCore
import HubEngine

/// Engine and simulated-provider flags (env: SIM_LATENCY_MS, SIM_FAILURE_RATE, SIM_OUTAGE).
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("lease-timeout-s"), help: "Seconds before another process takes over a silent owner's runs.")
    var leaseTimeoutS: Double = 10

    @Option(name: .customLong("max-executors"), help: "Runs this process executes at once.")
    var maxExecutors: Int = 16

    @Option(name: .customLong("max-executors-per-org"), help: "Runs of one org this process executes at once (default: three quarters of --max-executors), so other orgs' runs find a free executor.")
    var maxExecutorsPerOrg: Int?

    @Option(name: .customLong("amazon-call-cents"), help: "Price of one Amazon product call, in cents.")
    var amazonCallCents: Int = 2

    @Option(name: .customLong("ebay-call-cents"), help: "Price of one eBay seller call, in cents.")
    var ebayCallCents: Int = 1

    @Option(name: .customLong("retry-max-s"), help: "Longest wait between retries of an unavailable provider.")
    var retryMaxS: Double = 60

    @Option(help: "Provider: simulated (offline, default) or http (the contract in docs/PROVIDERS.md).")
    var provider: String = "simulated"

    @Option(name: .customLong("provider-url"), help: "HTTP provider: base URL (env PROVIDER_URL).")
    var providerURL: String?

    @Option(name: .customLong("provider-timeout-s"), help: "HTTP provider: seconds per request, at most a third of --lease-timeout-s (the default).")
    var providerTimeoutS: Double?

    @Option(name: .customLong("sim-seed"), help: "Simulated provider: seed of the catalog.")
    var simSeed: UInt64 = 1

    @Option(name: .customLong("sim-latency-ms"), help: "Simulated provider: milliseconds per paid call (env SIM_LATENCY_MS).")
    var simLatencyMS: Int?

    @Option(name: .customLong("sim-failure-rate"), help: "Simulated provider: share of paid calls failing for their item, 0-1 (env SIM_FAILURE_RATE).")
    var simFailureRate: Double?

    @Option(name: .customLong("sim-outage"), help: "Simulated provider: paid calls FROM-TO answering 503, e.g. 100-160 (repeatable; env SIM_OUTAGE, comma-separated).")
    var simOutage: [String] = []

    @Option(name: .customLong("sim-429"), help: "Simulated provider: paid calls FROM-TO answering 429 with Retry-After 2 s (repeatable).")
    var sim429: [String] = []

    func validate() throws {
        guard leaseTimeoutS >= 1 && leaseTimeoutS <= 3600 else { throw ValidationError("--lease-timeout-s must be between 1 and 3600") }
        if let timeout = providerTimeoutS {
            guard timeout > 0 else { throw ValidationError("--provider-timeout-s must be above 0") }
            // Heartbeats come every third of the lease and a paid call starts only while the
            // lease outlasts it: a longer timeout could let the lease lapse mid-call, and the next
            // owner would pay for the same item again.
            guard timeout <= leaseTimeoutS / 3 else {
                throw ValidationError("--provider-timeout-s \(Self.text(timeout)) is above a third of --lease-timeout-s \(Self.text(leaseTimeoutS)) "
                                      + "(\(Self.text(leaseTimeoutS / 3)) s): a call could outlive the lease and its item be paid twice; "
                                      + "lower it or raise --lease-timeout-s to at least \(Self.text(timeout * 3, .up))")
            }
        }
        guard (1...256).contains(maxExecutors) else { throw ValidationError("--max-executors takes 1 to 256") }
        if let perOrg = maxExecutorsPerOrg, !(1...maxExecutors).contains(perOrg) {
            throw ValidationError("--max-executors-per-org takes 1 to --max-executors (\(maxExecutors))")
        }
        guard amazonCallCents >= 0 && ebayCallCents >= 0 else { throw ValidationError("call prices cannot be negative") }
        guard retryMaxS >= 1 else { throw ValidationError("--retry-max-s must be at least 1") }
        if let rate = failureRate, !(0...1).contains(rate) { throw ValidationError("--sim-failure-rate must be between 0 and 1") }
        if let latency = latencyMS, latency < 0 || latency > 60_000 { throw ValidationError("--sim-latency-ms must be between 0 and 60000") }
        guard ["simulated", "http"].contains(provider) else { throw ValidationError("--provider is simulated or http") }
        if provider == "http" {
            guard let text = providerURL ?? env["PROVIDER_URL"], let url = URL(string: text), url.scheme?.hasPrefix("http") == true else {
                throw ValidationError("--provider http needs --provider-url http(s)://… (or PROVIDER_URL)")
            }
            _ = url
        }
        _ = try ranges(outages)
        _ = try ranges(sim429)
    }

    private var env: [String: String] { ProcessInfo.processInfo.environment }
    private var latencyMS: Int? { simLatencyMS ?? env["SIM_LATENCY_MS"].flatMap(Int.init) }
    private var failureRate: Double? { simFailureRate ?? env["SIM_FAILURE_RATE"].flatMap(Double.init) }
    private var outages: [String] { simOutage.isEmpty ? (env["SIM_OUTAGE"]?.split(separator: ",").map(String.init) ?? []) : simOutage }

    private func ranges(_ specs: [String]) throws -> [ClosedRange<Int>] {
        try specs.map { spec in
            let parts = spec.split(separator: "-").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 1, parts[0] <= parts[1] else {
                throw ValidationError("call ranges look like 100-160, got \(spec)")
            }
            return parts[0]...parts[1]
        }
    }

    /// Seconds without trailing zeros: 10, 3.5, 3.33.
    private static func text(_ seconds: Double, _ rule: FloatingPointRoundingRule = .down) -> String {
        let rounded = (seconds * 100).rounded(rule) / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// Milliseconds of one HTTP provider request: the flag, else a third of the lease.
    var providerTimeoutMS: Int { Int((providerTimeoutS ?? leaseTimeoutS / 3) * 1000) }

    var unitCosts: UnitCosts { UnitCosts(amazonProductCallCents: amazonCallCents, ebaySellerCallCents: ebayCallCents) }

    func engineConfig() -> EngineConfig {
        var c = EngineConfig()
        c.leaseTimeout = .milliseconds(Int(leaseTimeoutS * 1000))
        c.maxExecutors = maxExecutors
        c.maxExecutorsPerOrg = maxExecutorsPerOrg
        c.unitCosts = unitCosts
        c.backoff = Backoff(initial: .seconds(1), maximum: .milliseconds(Int(retryMaxS * 1000)), multiplier: 2, jitter: 0.2)
        return c
    }

    /// The configured provider; the HTTP provider's key comes from PROVIDER_API_KEY (never a flag,
    /// so it stays out of process listings).
    func makeProvider() throws -> any CollectionProvider {
        guard provider == "http" else { return try simulatedProvider() }
        let url = URL(string: providerURL ?? env["PROVIDER_URL"] ?? "")!
        return HTTPProvider(config: .init(baseURL: url, apiKey: env["PROVIDER_API_KEY"],
                                          timeout: .milliseconds(providerTimeoutMS)))
    }

    func simulatedProvider() throws -> SimulatedProvider {
        var sim = SimulatedProvider.Config()
        sim.seed = simSeed
        if let latencyMS { sim.latency = .milliseconds(latencyMS) }
        if let failureRate { sim.failureRate = failureRate }
        sim.outageCalls = try ranges(outages)
        sim.rateLimitCalls = try ranges(sim429)
        sim.rateLimitRetryAfter = .seconds(2)
        return SimulatedProvider(config: sim)
    }
}
