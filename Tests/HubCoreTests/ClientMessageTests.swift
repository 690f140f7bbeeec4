import Foundation
import HubCore
import XCTest

final class ClientMessageTests: XCTestCase {
    let id = UUID(uuidString: "A1A308B9-0423-47CD-BB98-E1D2E675B2BF")!

    func parse(_ text: String) throws(ProtocolError) -> ClientMessage {
        try ClientMessage.parse(Array(text.utf8))
    }

    func code(_ bytes: [UInt8]) -> String? {
        do {
            _ = try ClientMessage.parse(bytes)
            return nil
        } catch {
            return error.code.rawValue
        }
    }

    func code(_ text: String) -> String? { code(Array(text.utf8)) }

    func testValidMessages() throws {
        XCTAssertEqual(try parse(#"{"type":"subscribe","topic":"org"}"#), .subscribe(.org, since: nil))
        XCTAssertEqual(try parse(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf"}"#), .subscribe(.run(id), since: nil))
        XCTAssertEqual(try parse(#" { "since" : 35 , "topic":"run:A1A308B9-0423-47CD-BB98-E1D2E675B2BF","type":"subscribe"} "#),
                       .subscribe(.run(id), since: 35))
        XCTAssertEqual(try parse(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":0}"#), .subscribe(.run(id), since: 0))
        XCTAssertEqual(try parse(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":null}"#), .subscribe(.run(id), since: nil))
        XCTAssertEqual(try parse(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":9007199254740991}"#),
                       .subscribe(.run(id), since: 9_007_199_254_740_991), "2^53 - 1, the largest sequence number, stays exact")
        // Beyond 2^53 - 1 no sequence number exists: refused where it enters (issue 12, finding 1).
        XCTAssertThrowsError(try parse(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":9007199254740993}"#))
        XCTAssertEqual(try parse(#"{"type":"unsubscribe","topic":"org"}"#), .unsubscribe(.org))
        XCTAssertEqual(try parse(#"{"type":"unsubscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","extra":[1,{}]}"#), .unsubscribe(.run(id)))
    }

    func testPingEchoesAnyScalarID() throws {
        XCTAssertEqual(try parse(#"{"type":"ping"}"#), .ping(id: nil))
        XCTAssertEqual(try parse(#"{"type":"ping","id":"abc"}"#), .ping(id: .string("abc")))
        XCTAssertEqual(try parse(#"{"type":"ping","id":7}"#), .ping(id: .number("7")))
        XCTAssertEqual(try parse(#"{"type":"ping","id":true}"#), .ping(id: .bool(true)))
        XCTAssertEqual(try parse(#"{"type":"ping","id":null}"#), .ping(id: nil))
        XCTAssertEqual(try parse(#"{"type":"ping","id":{"a":1}}"#), .ping(id: nil))
        let long = String(repeating: "x", count: 1000)
        XCTAssertEqual(try parse(#"{"type":"ping","id":"\#(long)"}"#), .ping(id: .string(String(repeating: "x", count: ClientMessage.maxPingIDLength))))
    }

    /// The pong echoes the id with its JSON type; a malformed topic is echoed, bounded.
    func testPingIDKeepsItsTypeAndBadTopicIsEchoed() throws {
        XCTAssertEqual(try parse(#"{"type":"ping","id":1}"#), .ping(id: .number("1")))
        XCTAssertEqual(PingID.number("1").json, "1")
        XCTAssertEqual(PingID.string("1").json, #""1""#)
        XCTAssertEqual(PingID.bool(false).json, "false")
        if case .ping(let id?) = try parse(#"{"type":"ping","id":1.5}"#) {
            XCTAssertEqual(Double(id.json), 1.5)
        } else {
            XCTFail("a fractional id is echoed")
        }
        XCTAssertEqual(try parse(#"{"type":"ping","id":"\u0022x"}"#), .ping(id: .string("\"x")))
        XCTAssertEqual(PingID.string("\"x").json, #""\"x""#, "a string id is escaped")

        func topic(_ text: String) -> String? {
            do { _ = try parse(text); return "parsed" } catch { return error.topic }
        }
        XCTAssertEqual(topic(#"{"type":"subscribe","topic":"run:xyz"}"#), "run:xyz")
        XCTAssertEqual(topic(#"{"type":"unsubscribe","topic":"ORG"}"#), "ORG")
        XCTAssertEqual(topic(#"{"type":"subscribe","topic":7}"#), "7")
        XCTAssertNil(topic(#"{"type":"subscribe"}"#), "nothing was named")
        let long = String(repeating: "r", count: 5000)
        XCTAssertEqual(topic(#"{"type":"subscribe","topic":"\#(long)"}"#), String(repeating: "r", count: ClientMessage.maxTopicEchoLength))
        XCTAssertEqual(topic(#"{"type":"subscribe","topic":"run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf","since":-1}"#),
                       "run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf", "bad_since names its topic")
    }

    func testErrorCodes() {
        let run = "run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf"
        let cases: [(String, String)] = [
            ("", "bad_json"), ("{", "bad_json"), (#"{"type":"ping"}}"#, "bad_json"), ("nul", "bad_json"), ("{'type':'ping'}", "bad_json"),
            ("[1]", "not_object"), (#""subscribe""#, "not_object"), ("5", "not_object"), ("null", "not_object"),
            ("{}", "unknown_type"), (#"{"type":5}"#, "unknown_type"), (#"{"type":"publish"}"#, "unknown_type"),
            (#"{"type":"SUBSCRIBE","topic":"org"}"#, "unknown_type"),
            (#"{"type":"subscribe"}"#, "bad_topic"), (#"{"type":"subscribe","topic":"ORG"}"#, "bad_topic"),
            (#"{"type":"subscribe","topic":"run:xyz"}"#, "bad_topic"), (#"{"type":"subscribe","topic":"runs:\#(run.dropFirst(4))"}"#, "bad_topic"),
            (#"{"type":"subscribe","topic":"\#(run) "}"#, "bad_topic"), (#"{"type":"subscribe","topic":7}"#, "bad_topic"),
            (#"{"type":"unsubscribe","topic":["org"]}"#, "bad_topic"), (#"{"type":"subscribe","topic":"run:"}"#, "bad_topic"),
            (#"{"type":"subscribe","topic":"\#(run)","since":-1}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"\#(run)","since":1.5}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"\#(run)","since":"5"}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"\#(run)","since":true}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"\#(run)","since":1e30}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"\#(run)","since":[1]}"#, "bad_since"),
            (#"{"type":"subscribe","topic":"org","since":3}"#, "bad_since"),
        ]
        for (text, expected) in cases {
            XCTAssertEqual(code(text), expected, text)
        }
        XCTAssertEqual(code([0x7B, 0xFF, 0x7D]), "bad_utf8")
        XCTAssertEqual(code(Array(#"{"type":"ping","id":"\#u{00}"}"#.utf8).map { $0 == 0 ? 0xC0 : $0 }), "bad_utf8", "overlong encoding")
    }

    func testSizeLimit() throws {
        let message = #"{"type":"ping"}"#
        let exact = message + String(repeating: " ", count: ClientMessage.maxBytes - message.utf8.count)
        XCTAssertEqual(try parse(exact), .ping(id: nil), "exactly 64 KiB is allowed")
        XCTAssertEqual(code(exact + " "), "too_large")
        XCTAssertEqual(code([UInt8](repeating: 0xFF, count: ClientMessage.maxBytes + 1)), "too_large", "size is checked first")
    }

    func testErrorsCarryMessages() {
        do {
            _ = try parse(#"{"type":"launch"}"#)
            XCTFail("parsed")
        } catch {
            XCTAssertEqual(error.code, .unknownType)
            XCTAssertEqual(error.description, "unknown_type: unknown message type launch")
        }
    }

    func testTopics() {
        XCTAssertEqual(Topic("org"), .org)
        XCTAssertEqual(Topic("run:A1A308B9-0423-47CD-BB98-E1D2E675B2BF")?.description, "run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf")
        XCTAssertEqual(Topic.run(id).description, "run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf")
        for bad in ["", "Org", "org:", "run", "run:", "run:a1a308b9042347cdbb98e1d2e675b2bf", "run:{a1a308b9-0423-47cd-bb98-e1d2e675b2bf}",
                    " run:a1a308b9-0423-47cd-bb98-e1d2e675b2bf", "run:a1a308b9-0423-47cd-bb98-e1d2e675b2bg"] {
            XCTAssertNil(Topic(bad), bad)
        }
        XCTAssertEqual(Set(ProtocolError.Code.allCases.map(\.rawValue)).isSuperset(of: ["bad_json", "not_object", "unknown_type", "bad_topic",
                                                                                         "bad_since", "too_large", "bad_utf8"]), true)
    }
}
