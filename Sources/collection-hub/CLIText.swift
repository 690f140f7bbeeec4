import Foundation
import HubCore
import HubEngine
import HubStore

/// What the CLI prints for people (kept apart from the commands so tests can read it).
enum CLIText {
    /// The largest `--limit` (the REST API's bound too).
    static let maxLimit = 200

    /// `org list`: one org a line, slug first (what `--org` takes).
    static func orgLines(_ orgs: [OrgRecord]) -> [String] {
        let width = max(4, orgs.map(\.slug.count).max() ?? 0)
        return orgs.map { "\($0.slug.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.id.lowercasedString)  \($0.name)" }
    }

    /// `--limit` as the REST API bounds it: 1…200.
    static func checkLimit(_ limit: Int) -> String? {
        (1...maxLimit).contains(limit) ? nil : "--limit must be between 1 and \(maxLimit)"
    }

    /// A status from the command line, or an error naming the valid ones.
    static func runStatus(_ text: String) -> Result<RunStatus, CLIError> {
        if let status = RunStatus(rawValue: text) { return .success(status) }
        return .failure(CLIError("unknown status \(text.prefix(40)); use one of: \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
    }

    /// `runs list` (and the answer of create/pause/resume/cancel): one line a run.
    static func runLine(_ run: RunRecord) -> String {
        let reason = run.statusReason.map { " (\($0.rawValue))" } ?? ""
        return "\(run.id.lowercasedString)  \(run.status.rawValue)\(reason)  \(run.name)  processed \(run.processedItems), failed \(run.failedItems), skipped \(run.skippedItems) of ~\(run.expectedItems) (\(run.progressPercent)%; planned \(run.plannedItems) items, \(Cents.format(run.estimatedCostCents)))  cost \(Cents.format(run.actualCostCents)) / \(Cents.format(run.budgetCapCents))"
    }

    /// `runs show`: the whole run, one fact a line.
    static func runDetail(_ run: RunRecord) -> [String] {
        func time(_ date: Date?) -> String {
            date.map { $0.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: false)) } ?? "—"
        }
        let done = run.processedItems + run.failedItems + run.skippedItems
        let capShare = run.budgetCapCents > 0 ? " (\(run.actualCostCents * 100 / run.budgetCapCents)% of the cap)" : ""
        var lines = [
            "run        \(run.id.lowercasedString)",
            "name       \(run.name)",
            "state      \(run.status.rawValue)\(run.statusReason.map { ", reason \($0.rawValue)" } ?? "")",
            "categories \(run.categoryIDs.joined(separator: ", "))\(run.currentCategory.map { " (now: \($0))" } ?? "")",
            "items      \(done) done of ~\(run.expectedItems) (\(run.progressPercent)%): \(run.processedItems) processed, \(run.failedItems) failed, \(run.skippedItems) skipped",
            "plan       \(run.plannedItems) items for \(Cents.format(run.estimatedCostCents))",
            "actual     \(done) items for \(Cents.format(run.actualCostCents))",
            "cost       \(Cents.format(run.actualCostCents)) of a \(Cents.format(run.budgetCapCents)) cap\(capShare); warning at \(run.softWarningPercent)%",
        ]
        if let rate = run.itemsPerSecond { lines.append("rate       \(rate) items/s\(run.etaSeconds.map { ", about \($0) s to go" } ?? "")") }
        lines += [
            "created    \(time(run.createdAt))",
            "started    \(time(run.startedAt))",
            "paused     \(time(run.pausedAt))",
            "completed  \(time(run.completedAt))",
            "updated    \(time(run.updatedAt))",
        ]
        if let retry = run.nextRetryAt { lines.append("next retry \(time(retry))") }
        if let warned = run.budgetWarnedAt { lines.append("budget warning \(time(warned))") }
        return lines
    }

    /// `estimate`'s last line: the total against the cap, as a sentence.
    static func estimateVerdict(_ result: CollectionService.EstimateResult) -> String {
        let total = Cents.format(result.estimate.totalCents), cap = Cents.format(result.settings.budgetCapCents)
        let head = "Total \(total) of a \(cap) cap (\(result.percentOfCap)%)"
        switch result.verdict {
        case .withinBudget:
            return "\(head): within budget."
        case .softWarning:
            return "\(head): over the \(result.settings.softWarningPercent)% warning level; the run may still be created."
        case .overCap:
            return "\(head): over the cap; a run for these categories would be refused."
        }
    }
}
