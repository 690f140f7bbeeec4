@testable import HubCore
import XCTest

final class RequestHeadGateTests: XCTestCase {
    private let limits = RequestHeadGate.Limits(maxHeadBytes: 8192, maxFields: 80)

    private func verdict(_ text: String) -> RequestHeadGate.Verdict {
        var gate = RequestHeadGate(limits: limits)
        return gate.received(Array(text.utf8))
    }

    func testACompleteHeadPassesWithItsLength() {
        let head = "GET /api/v1/runs?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"
        XCTAssertEqual(verdict(head + "body"), .pass(headLength: head.utf8.count))
        XCTAssertEqual(verdict("GET / HTTP/1.1\nHost: a\n\n"), .pass(headLength: 24))
    }

    func testAnIncompleteHeadNeedsMoreAndIsNotRescanned() {
        var gate = RequestHeadGate(limits: limits)
        var bytes = Array("GET / HTTP/1.1\r\nHost: a\r\n".utf8)
        XCTAssertEqual(gate.received(bytes), .needMore)
        bytes += Array("\r".utf8)
        XCTAssertEqual(gate.received(bytes), .needMore)
        bytes += Array("\n".utf8)
        XCTAssertEqual(gate.received(bytes), .pass(headLength: bytes.count))
    }

    func testAHeadOverTheLimitIs431() {
        let big = "GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 9 * 1024) + "\r\n\r\n"
        guard case .refuse(431, "request_header_fields_too_large", _) = verdict(big) else { return XCTFail() }
        // Without an end in sight: refused as soon as the limit is reached.
        var gate = RequestHeadGate(limits: limits)
        guard case .refuse(431, _, _) = gate.received([UInt8](repeating: 0x61, count: 8192)) else { return XCTFail() }
    }

    func testWhatTheParserWouldDropIsAnswered() {
        for bad in ["GET /api/v1/runs?x=%00 HTTP/1.1\r\n\r\n", "GET /a%0 HTTP/1.1\r\n\r\n",
                    "GET /a%zz HTTP/1.1\r\n\r\n", "GET /\0 HTTP/1.1\r\n\r\n", "GET\r\n\r\n",
                    "GET /?" + Array(repeating: "a=1", count: 100).joined(separator: "&") + " HTTP/1.1\r\n\r\n"] {
            guard case .refuse(400, "bad_request", _) = verdict(bad) else { return XCTFail(bad) }
        }
        guard case .refuse(405, "method_not_allowed", _) = verdict("BREW /pot HTTP/1.1\r\n\r\n") else { return XCTFail() }
        XCTAssertEqual(verdict("GET /a%20b?q=%41 HTTP/1.1\r\n\r\n"), .pass(headLength: 29))
    }
}
