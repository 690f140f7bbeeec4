import ArgumentParser
@testable import collection_hub
import HubEngine
import XCTest

/// The engine flags refuse, at start-up, a provider timeout that could outlive the lease
/// (issue 13 item 6): the message names both flags and what to do.
final class EngineOptionsTests: XCTestCase {
    func testProviderTimeoutAboveAThirdOfTheLeaseIsRefused() {
        XCTAssertThrowsError(try EngineOptions.parse(["--provider-timeout-s", "4"])) {
            let message = EngineOptions.message(for: $0)
            XCTAssertTrue(message.contains("--provider-timeout-s 4 is above a third of --lease-timeout-s 10"), message)
            XCTAssertTrue(message.contains("at least 12"), message)
        }
        XCTAssertThrowsError(try EngineOptions.parse(["--lease-timeout-s", "2", "--provider-timeout-s", "1"]))
        XCTAssertThrowsError(try EngineOptions.parse(["--provider-timeout-s", "0"]))
        XCTAssertThrowsError(try EngineOptions.parse(["--provider-timeout-s", "-1"]))
    }

    func testTimeoutsThatFitAreAccepted() throws {
        let fits = try EngineOptions.parse(["--lease-timeout-s", "30", "--provider-timeout-s", "10"])
        XCTAssertEqual(fits.providerTimeoutMS, 10_000)
        // Unset: a third of the lease, which the engine accepts with the HTTP provider.
        let derived = try EngineOptions.parse(["--provider", "http", "--provider-url", "http://127.0.0.1:9/v1"])
        XCTAssertEqual(derived.providerTimeoutMS, 3_333)
        let provider = try derived.makeProvider()
        XCTAssertEqual(provider.callTimeout, .milliseconds(3_333))
        XCTAssertNoThrow(try derived.engineConfig().validate(callTimeout: provider.callTimeout))
    }
}
