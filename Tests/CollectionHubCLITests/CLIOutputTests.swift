import ArgumentParser
@testable import collection_hub
import Foundation
import HubCore
import HubEngine
import HubStore
import HubTestSupport
import XCTest

/// What a new user reads from the CLI (issue 14): orgs with their slugs, a whole run,
/// errors that name the valid values, the same limits as REST, sentences, not codes.
final class CLIOutputTests: XCTestCase {
    private var pool: ConnectionPool!

    override func setUpWithError() throws {
        pool = try ConnectionPool(.init(conninfo: try TestDatabase.shared.migratedDatabase(), maxConnections: 4))
    }

    override func tearDown() { pool?.close() }

    func testOrgListPrintsSlugIDAndName() throws {
        let repo = OrgRepository(pool: pool)
        let a = try repo.orgCreate(name: "Zeta Traders", slug: "zeta")
        let b = try repo.orgCreate(name: "Alpha Resale", slug: "alpha")
        let listed = try repo.orgList()
        XCTAssertEqual(listed.map(\.slug).filter { ["alpha", "zeta"].contains($0) }, ["alpha", "zeta"], "by slug")
        let lines = CLIText.orgLines([b, a])
        XCTAssertTrue(lines[0].hasPrefix("alpha "), lines[0])
        XCTAssertTrue(lines[0].contains(b.id.uuidString.lowercased()), lines[0])
        XCTAssertTrue(lines[1].hasSuffix("Zeta Traders"), lines[1])
        XCTAssertNoThrow(try OrgCommand.parseAsRoot(["list", "--json"]))
    }

    func testLimitIsBoundedLikeREST() {
        for bad in ["0", "-1", "201"] {
            XCTAssertThrowsError(try RunsCommand.List.parse(["--org", "demo", "--limit=\(bad)"]), bad) { error in
                XCTAssertTrue(RunsCommand.List.message(for: error).contains("between 1 and 200"), "\(error)")
            }
        }
        XCTAssertNoThrow(try RunsCommand.List.parse(["--org", "demo", "--limit", "1"]))
        XCTAssertNoThrow(try RunsCommand.List.parse(["--org", "demo", "--limit", "200"]))
    }

    func testUnknownStatusAndCategoryNameTheValidOnes() throws {
        XCTAssertThrowsError(try RunsCommand.List.parse(["--org", "demo", "--status", "done"])) { error in
            let message = RunsCommand.List.message(for: error)
            for status in RunStatus.allCases { XCTAssertTrue(message.contains(status.rawValue), message) }
        }
        let org = try OrgRepository(pool: pool).orgCreate(name: "Cat Org", slug: "cat-org-\(UUID().uuidString.prefix(6).lowercased())")
        let service = CollectionService(pool: pool)
        XCTAssertThrowsError(try service.estimate(orgID: org.id, categoryIDs: ["beuty"])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("beuty"), text)
            XCTAssertTrue(text.contains("known:") && text.contains("beauty") && text.contains("collectibles"), text)
        }
    }

    func testRunsShowPrintsTheWholeRun() throws {
        let org = try OrgRepository(pool: pool).orgCreate(name: "Show Org", slug: "show-\(UUID().uuidString.prefix(6).lowercased())")
        let user = try OrgRepository(pool: pool).userEnsure(email: "show@example.com", displayName: "S")
        let service = CollectionService(pool: pool)
        let created = try service.createRun(orgID: org.id, name: "Shown", categoryIDs: ["beauty"], actor: .init(userID: user.id))
        try pool.query("""
            UPDATE collection_runs SET status = 'paused', status_reason = 'admin', started_at = now(), paused_at = now(),
                   processed_items = 7, failed_items = 2, skipped_items = 1, actual_cost_cents = 19 WHERE id = $1
            """, [created.run.id])
        let run = try service.getRun(orgID: org.id, runID: created.run.id)
        let text = CLIText.runDetail(run).joined(separator: "\n")
        let listLine = CLIText.runLine(run)
        XCTAssertNotEqual(text, listLine, "show is more than the list line")
        for expected in ["state      paused, reason admin", "7 processed, 2 failed, 1 skipped", "10 done of ~",
                         "plan       \(run.plannedItems) items for \(Cents.format(run.estimatedCostCents))",
                         "actual     10 items for $0.19", "of a \(Cents.format(run.budgetCapCents)) cap", "categories beauty",
                         "created    ", "started    ", "paused     ", "completed  —"] {
            XCTAssertTrue(text.contains(expected), "missing \(expected) in\n\(text)")
        }
        XCTAssertTrue(text.contains(run.id.uuidString.lowercased()))
    }

    func testEstimateEndsWithASentence() throws {
        let org = try OrgRepository(pool: pool).orgCreate(name: "Est Org", slug: "est-\(UUID().uuidString.prefix(6).lowercased())")
        let user = try OrgRepository(pool: pool).userEnsure(email: "est@example.com", displayName: "E")
        let service = CollectionService(pool: pool)
        let within = try service.estimate(orgID: org.id, categoryIDs: ["beauty"])
        let total = within.estimate.totalCents
        XCTAssertTrue(CLIText.estimateVerdict(within).hasSuffix("within budget."), CLIText.estimateVerdict(within))
        // A cap just above the total with a low warning level: a soft warning.
        _ = try service.updateSettings(orgID: org.id, BudgetSettings(budgetCapCents: total + 1, softWarningPercent: 50),
                                       actor: .init(userID: user.id))
        let warned = try service.estimate(orgID: org.id, categoryIDs: ["beauty"])
        let sentence = CLIText.estimateVerdict(warned)
        XCTAssertFalse(sentence.contains("soft_warning"), sentence)
        XCTAssertTrue(sentence.contains("over the 50% warning level"), sentence)
        XCTAssertTrue(sentence.hasSuffix("."), sentence)
    }

    func testANewClusterIsAnnouncedWithItsPath() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chub-note-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let note = try XCTUnwrap(OpenDatabase.newClusterNote(dir))
        XCTAssertTrue(note.contains(dir.path), note)
        XCTAssertTrue(note.contains("--data-dir"), note)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data("16\n".utf8).write(to: dir.appendingPathComponent("PG_VERSION"))
        XCTAssertNil(OpenDatabase.newClusterNote(dir), "an existing cluster is used silently")
    }
}
