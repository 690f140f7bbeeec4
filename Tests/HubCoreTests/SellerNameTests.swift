import HubCore
import XCTest

final class SellerNameTests: XCTestCase {
    func testTheThreeDocumentedForms() {
        XCTAssertEqual(SellerName.normalize("SELLER ABC"), "seller abc")
        XCTAssertEqual(SellerName.normalize(" seller  abc "), "seller abc")
        XCTAssertEqual(SellerName.normalize("ＳＥＬＬＥＲ　ＡＢＣ"), "seller abc")
    }

    func testAnyWhitespaceCollapses() {
        for form in ["Seller\tABC", "seller\nabc\n", "\r\nseller \t\u{000B} abc", "seller\u{00A0}abc",
                     "seller\u{2003}abc", "\u{3000}seller\u{202F}\u{2028}abc\u{3000}"] {
            XCTAssertEqual(SellerName.normalize(form), "seller abc", form.debugDescription)
        }
    }

    func testDistinctNamesStayDistinct() {
        XCTAssertEqual(SellerName.normalize("seller abd"), "seller abd")
        XCTAssertEqual(SellerName.normalize("sellerabc"), "sellerabc", "whitespace is collapsed, never removed")
        XCTAssertEqual(SellerName.normalize("  "), "")
        XCTAssertEqual(SellerName.normalize("Ｒｉｖｅｒ　Ｒｅｓａｌｅ"), "river resale")
        XCTAssertEqual(SellerName.normalize("Café"), SellerName.normalize("Cafe\u{0301}"), "composed and decomposed é agree")
        XCTAssertEqual(SellerName.normalize("ﬁne ｔｏｙｓ"), "fine toys", "compatibility ligature")
    }

    func testIdempotent() {
        for name in ["ＳＥＬＬＥＲ　ＡＢＣ", "İstanbul Toys", "ẞtraße", "Ǆemal", "ΣΟΦΙΑ'Σ", "ﬃ", "x\u{0345}\u{0313}"] {
            let once = SellerName.normalize(name)
            XCTAssertEqual(SellerName.normalize(once), once, name)
        }
    }
}
