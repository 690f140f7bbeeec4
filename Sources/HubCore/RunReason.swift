/// Why a run is in its state (the `status_reason` column).
///
/// A run stopped by its budget ends `completed` with `budget_exhausted`, not `failed`:
/// everything it bought is valid data and nothing went wrong; the reason tells the UI why
/// it ended before covering every category.
public enum RunReason: String, Sendable, Codable, CaseIterable {
    /// Paused by an admin; only an admin resumes it.
    case admin
    /// Paused by the engine on a provider outage or 429; the engine resumes it itself.
    case providerUnavailable = "provider_unavailable"
    /// Pending because the org already has `max_concurrent_runs` runs going.
    case waitingForSlot = "waiting_for_slot"
    /// Completed early: the next call would have crossed the budget cap.
    case budgetExhausted = "budget_exhausted"
    case cancelledByAdmin = "cancelled_by_admin"
    /// Failed: the provider answered with an error that retrying does not fix.
    case providerError = "provider_error"
    /// The engine process lost its lease on the run (another took over or it was fenced).
    case leaseLost = "lease_lost"
    /// Pending with a free org slot, but every engine executor (or this org's share of
    /// them) is busy.
    case waitingForExecutor = "waiting_for_executor"
}
