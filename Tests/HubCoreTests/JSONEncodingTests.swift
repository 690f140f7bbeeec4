import Foundation
import HubCore
import HubTestSupport
import XCTest

/// Issue 13 item 4: one JSON path. Encodable values, wire messages and error bodies all come
/// out of JSONWriter; bodies and client messages are read with Codable.
final class JSONEncodingTests: XCTestCase {
    private struct Sample: Encodable {
        let id: UUID
        let when: Date
        let big: Int64
        let huge: UInt64
        let ratio: Double
        let whole: Double
        let missing: String?
        let name: String
        let nested: [String: [Int]]
        let raw: RawJSON
        enum CodingKeys: String, CodingKey {
            case id, when, big, huge, ratio, whole, missing, name, nested, raw
        }
    }

    private struct TwiceOpened: Encodable {
        func encode(to encoder: any Encoder) throws {
            var a = encoder.container(keyedBy: Key.self)
            try a.encode(1, forKey: .first)
            var b = encoder.container(keyedBy: Key.self)
            try b.encode(2, forKey: .second)
        }
        enum Key: String, CodingKey { case first, second }
    }

    func testEncodableValuesFollowTheWritersRules() throws {
        let id = UUID(uuidString: "A1A308B9-0423-47CD-BB98-E1D2E675B2BF")!
        let sample = Sample(id: id, when: Date(timeIntervalSince1970: 1_768_919_400.125), big: .max, huge: .max, ratio: 12.5,
                            whole: 100, missing: nil, name: "q\"\u{1}\u{2028}", nested: ["b": [2], "a": [1, 3]],
                            raw: RawJSON(Array(#"{"kept":[1.50,"as is"]}"#.utf8)))
        let text = try JSONWriter.encoded(sample).text
        XCTAssertEqual(text, #"{"big":9223372036854775807,"huge":18446744073709551615,"id":"a1a308b9-0423-47cd-bb98-e1d2e675b2bf","#
                       + #""name":"q\"\u0001\u2028","nested":{"a":[1,3],"b":[2]},"ratio":12.5,"raw":{"kept":[1.50,"as is"]},"#
                       + #""when":"2026-01-20T14:30:00.125Z","whole":100}"#,
                       "sorted keys, lower-case UUID, exact integers, nil left out, raw JSON untouched")
        XCTAssertNotNil(jsonValue(Array(text.utf8)))
    }

    func testNumbersMatchWhatJSONEncoderWrote() throws {
        for d in [0.0, 1, -1, 0.1, 12.34, 1e-7, 1e300, -2.5e-300, 123_456_789.125, 1e15, 4_503_599_627_370_496] {
            let ours = try JSONWriter.encoded([d]).text
            let foundation = String(decoding: try JSONEncoder().encode([d]), as: UTF8.self)
            XCTAssertEqual((jsonValue(Array(ours.utf8)) as? [Double])?.first, d, ours)
            XCTAssertEqual((jsonValue(Array(foundation.utf8)) as? [Double])?.first, d, foundation)
        }
        XCTAssertThrowsError(try JSONWriter.encoded([Double.nan]), "NaN has no JSON form")
        XCTAssertThrowsError(try JSONWriter.encoded(["x": Double.infinity]))
        XCTAssertThrowsError(try JSONEncoder().encode(RawJSON(Array("1".utf8))), "only JSONWriter splices raw JSON")
    }

    func testAContainerOpenedTwiceKeepsBothHalves() throws {
        XCTAssertEqual(try JSONWriter.encoded(TwiceOpened()).text, #"{"first":1,"second":2}"#)
        XCTAssertEqual(try JSONWriter.encoded([String?.none, "x"]).text, #"[null,"x"]"#)
        XCTAssertEqual(try JSONWriter.encoded(RunStatus.running).text, #""running""#)
    }

    /// Awkward topics and messages come back exactly after a round trip through the wire
    /// message builders.
    func testWireMessagesEscapeWhatTheyCarry() throws {
        let awkward = "run:\"x\\y\n\t\u{0}\u{1F}\u{2028}\u{2029}é🎉</script>"
        let error = try XCTUnwrap(jsonValue(Array(JSONText.error(ProtocolError(.badTopic, "bad \"\(awkward)\""), topic: awkward).utf8)) as? [String: Any])
        XCTAssertEqual(error["type"] as? String, "error")
        XCTAssertEqual(error["code"] as? String, "bad_topic")
        XCTAssertEqual(error["message"] as? String, "bad \"\(awkward)\"")
        XCTAssertEqual(error["topic"] as? String, awkward)
        XCTAssertFalse(JSONText.error(ProtocolError(.badTopic, "m"), topic: awkward).utf8.contains { $0 < 0x20 }, "no raw control bytes")

        let hello = try XCTUnwrap(jsonValue(Array(JSONText.hello(org: "o", maxFrameBytes: 65_536, permissions: ["a\"b", awkward]).utf8)) as? [String: Any])
        XCTAssertEqual(hello["type"] as? String, "hello")
        XCTAssertEqual(hello["protocol"] as? String, "collection-hub.v1")
        XCTAssertEqual(hello["max_frame_bytes"] as? Int, 65_536)
        XCTAssertEqual(hello["permissions"] as? [String], ["a\"b", awkward])

        XCTAssertEqual(JSONText.pong(id: nil), #"{"type":"pong"}"#)
        XCTAssertEqual(JSONText.pong(id: .number("7")), #"{"type":"pong","id":7}"#)
        XCTAssertEqual(JSONText.pong(id: .bool(false)), #"{"type":"pong","id":false}"#)
        let pong = try XCTUnwrap(jsonValue(Array(JSONText.pong(id: .string(awkward)).utf8)) as? [String: Any])
        XCTAssertEqual(pong["id"] as? String, awkward)
    }

    /// Every REST refusal has one shape: error.code, error.message and, for 422, fields.
    func testErrorBodyHasOneShape() throws {
        let plain = try XCTUnwrap(jsonValue(ErrorBody.json(code: "not_found", message: "no \"such\"\nthing")) as? [String: Any])
        XCTAssertEqual(plain.keys.sorted(), ["error"])
        let inner = try XCTUnwrap(plain["error"] as? [String: Any])
        XCTAssertEqual(inner.keys.sorted(), ["code", "message"])
        XCTAssertEqual(inner["message"] as? String, "no \"such\"\nthing")
        let withFields = ErrorBody.json(code: "validation", message: "m",
                                        fields: [FieldError(field: "a\"", message: "x"), FieldError(field: "b", message: "\u{0}")])
        XCTAssertEqual(withFields.text, #"{"error":{"code":"validation","message":"m","fields":[{"field":"a\"","message":"x"},{"field":"b","message":"\u0000"}]}}"#)
    }

    func testBodiesAreDecodedWithExactIntegers() throws {
        let settings = try SettingsRequestBody.decode(Array(#"{"budget_cap_cents":9007199254740993,"soft_warning_percent":1e2,"max_concurrent_runs":3.0}"#.utf8))
        XCTAssertEqual(settings.settings.budgetCapCents, 9_007_199_254_740_993, "no Double rounding on the way in")
        XCTAssertEqual(settings.settings.softWarningPercent, 100)
        XCTAssertEqual(settings.settings.maxConcurrentRuns, 3)
        for (body, fields) in [(#"{"budget_cap_cents":9223372036854775808,"soft_warning_percent":1,"max_concurrent_runs":1}"#, ["budget_cap_cents"]),
                               (#"{"budget_cap_cents":false,"soft_warning_percent":[1],"max_concurrent_runs":{}}"#,
                                ["budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"])] {
            XCTAssertThrowsError(try SettingsRequestBody.decode(Array(body.utf8))) { error in
                guard case .invalid(let found)? = error as? RequestBodyError else { return XCTFail("\(error)") }
                XCTAssertEqual(found.map(\.field), fields, body)
            }
        }
        let run = try RunRequestBody.decode(Array(#"{"name":null,"category_ids":["a","b"],"extra":{"x":[1]}}"#.utf8))
        XCTAssertEqual(run, try RunRequestBody.decode(Array(#"{"category_ids":["a","b"]}"#.utf8)))
        XCTAssertThrowsError(try RunRequestBody.decode(Array(#"{"name":"n","category_ids":["a",5]}"#.utf8))) { error in
            XCTAssertEqual(error as? RequestBodyError, .invalid([FieldError(field: "category_ids", message: "category_ids must be a list of category ids")]))
        }
        for body in ["", "{", "[]", "7", "null", #"{"a":1}}"#] {
            XCTAssertThrowsError(try RunRequestBody.decode(Array(body.utf8))) { error in
                guard case .badJSON? = error as? RequestBodyError else { return XCTFail("\(body): \(error)") }
            }
        }
        XCTAssertEqual(LoginRequestBody.decode(Array(#"{"token":"chub_x"}"#.utf8))?.token, "chub_x")
        for body in ["", #"{"token":""}"#, #"{"token":5}"#, #"["chub_x"]"#, #"{"tok":"x"}"#] {
            XCTAssertNil(LoginRequestBody.decode(Array(body.utf8)), body)
        }
    }

    func testScalarsKeepTheirJSONType() throws {
        func scalar(_ text: String) throws -> JSONScalar { try JSONDecoder().decode(JSONScalar.self, from: Data(text.utf8)) }
        XCTAssertEqual(try scalar("true"), .bool(true))
        XCTAssertEqual(try scalar("35"), .integer(35))
        XCTAssertEqual(try scalar("-9223372036854775808"), .integer(.min))
        XCTAssertEqual(try scalar("9223372036854775808"), .number(9_223_372_036_854_775_808))
        XCTAssertEqual(try scalar("1.5"), .number(1.5))
        XCTAssertEqual(try scalar(#""s""#), .string("s"))
        XCTAssertEqual(try scalar("[1]"), .other)
        XCTAssertEqual(try scalar(#"{"a":1}"#), .other)
        XCTAssertEqual(JSONScalar.number(1.5).json, "1.5")
        XCTAssertEqual(JSONScalar.string("\"").json, #""\"""#)
        XCTAssertNil(JSONScalar.other.json)
    }
}
