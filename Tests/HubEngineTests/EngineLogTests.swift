import Foundation
import HubCore
@testable import HubEngine
import HubStore
import HubTestSupport
import Logging
import XCTest

/// Keeps every message logged through it (tests read them back).
final class RecordingLogHandler: LogHandler, @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        lock.withLock { lines.append(message.description) }
    }

    var messages: [String] { lock.withLock { lines } }
}

final class EngineLogTests: XCTestCase {
    /// Run ids in the engine's log read as the API writes them (lower case), so an id copied
    /// from a log line finds the run.
    func testEngineLogsRunIDsInLowerCase() throws {
        let f = try EngineFixture()
        let created = try f.service.createRun(orgID: f.org, name: nil, categoryIDs: ["beauty"], actor: f.actor)
        let handler = RecordingLogHandler()
        var config = EngineConfig()
        config.owner = "log-test"
        config.pollInterval = .milliseconds(50)
        config.unitCosts = f.service.unitCosts
        let engine = try Engine(pool: f.pool, provider: SimulatedProvider(config: quietSim()), config: config,
                                logger: Logger(label: "test") { _ in handler })
        engine.start()
        defer { engine.stop() }
        XCTAssertEqual(try f.waitForEnd(created.run.id).status, .completed)
        let id = created.run.id.uuidString
        let mentions = handler.messages.filter { $0.lowercased().contains(id.lowercased()) }
        XCTAssertFalse(mentions.isEmpty, "the run's id is logged: \(handler.messages)")
        for line in mentions {
            XCTAssertFalse(line.contains(id), "upper-case id in \(line)")
            XCTAssertTrue(line.contains(id.lowercased()), line)
        }
    }
}
