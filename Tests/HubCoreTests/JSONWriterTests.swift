import Foundation
import HubCore
import HubTestSupport
import XCTest

final class JSONWriterTests: XCTestCase {
    func quoted(_ s: String) -> String {
        var w = JSONWriter()
        w.string(s)
        return w.bytes.text
    }

    func testEscapes() {
        XCTAssertEqual(quoted(""), #""""#)
        XCTAssertEqual(quoted("plain"), #""plain""#)
        XCTAssertEqual(quoted("a\"b\\c/d"), #""a\"b\\c/d""#)
        XCTAssertEqual(quoted("\n\r\t\u{08}\u{0C}"), #""\n\r\t\b\f""#)
        XCTAssertEqual(quoted("\u{00}\u{01}\u{1F}"), #""\u0000\u0001\u001f""#)
        XCTAssertEqual(quoted("x\u{2028}y\u{2029}z"), #""x\u2028y\u2029z""#)
        XCTAssertEqual(quoted("é ☃ 🎉 \u{7F} \u{2027}\u{202A}"), "\"é ☃ 🎉 \u{7F} \u{2027}\u{202A}\"", "other characters pass through as UTF-8")
        XCTAssertEqual(JSONText.quote("a\u{2028}\"b\u{01}"), #""a\u2028\"b\u0001""#)
    }

    func testEveryControlCharacterRoundTrips() {
        for value in 0..<0x20 {
            let s = "<" + String(UnicodeScalar(UInt8(value))) + ">"
            var w = JSONWriter()
            w.string(s)
            XCTAssertFalse(w.bytes.contains { $0 < 0x20 }, "raw control byte \(value)")
            XCTAssertEqual(jsonValue(w.bytes) as? String, s)
        }
    }

    /// Random strings over awkward characters decode back to themselves.
    func testRandomStringsRoundTrip() {
        let pieces: [String] = ["a", "\"", "\\", "\n", "\u{0}", "\u{1F}", "\u{2028}", "\u{2029}", "é", "☃", "🎉", "€", "\u{2000}", "\u{202F}", "/", " ", "\u{FFFF}"]
        var rng = SeededRandom(seed: 5)
        for _ in 0..<2000 {
            let s = (0..<Int.random(in: 0...20, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            var w = JSONWriter()
            w.beginArray()
            w.string(s)
            w.endArray()
            XCTAssertEqual((jsonValue(w.bytes) as? [String])?.first, s)
            XCTAssertFalse(w.bytes.text.contains("\u{2028}") || w.bytes.text.contains("\u{2029}"))
        }
    }

    func testNumbersBoolsNull() {
        var w = JSONWriter()
        w.beginArray()
        w.int(0)
        w.int(7)
        w.int(-42)
        w.int64(.max)
        w.int64(.min)
        w.uint64(.max)
        w.bool(true)
        w.bool(false)
        w.null()
        w.string(orNull: nil)
        w.string(orNull: "s")
        w.endArray()
        XCTAssertEqual(w.bytes.text, #"[0,7,-42,9223372036854775807,-9223372036854775808,18446744073709551615,true,false,null,null,"s"]"#)
    }

    func testStructureAndCommas() {
        var w = JSONWriter()
        w.beginObject()
        w.key("a")
        w.beginObject()
        w.endObject()
        w.key("b")
        w.beginArray()
        w.beginArray()
        w.endArray()
        w.int(1)
        w.beginObject()
        w.key("c")
        w.raw(Array(#"{"pre":"encoded"}"#.utf8))
        w.endObject()
        w.endArray()
        w.key("k\"ey")
        w.raw(#"[1,2]"#.utf8)
        w.endObject()
        XCTAssertEqual(w.bytes.text, #"{"a":{},"b":[[],1,{"c":{"pre":"encoded"}}],"k\"ey":[1,2]}"#)
        XCTAssertNotNil(jsonValue(w.bytes))
    }

    func testAppendingContinuesABuffer() {
        var w = JSONWriter(appendingTo: Array("[1,".utf8))
        w.int(2)
        w.int(3)
        w.endArray()
        XCTAssertEqual(w.bytes.text, "[1,2,3]")
    }
}
