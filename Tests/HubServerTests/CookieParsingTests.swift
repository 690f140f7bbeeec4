@testable import HubServer
import XCTest

/// `Authenticator.presented(authorization:cookie:)`: which credential a request presents.
final class CookieParsingTests: XCTestCase {
    func cookie(_ header: String?) -> String? {
        guard case .cookie(let value)? = Authenticator.presented(authorization: nil, cookie: header) else { return nil }
        return value
    }

    func testTheSessionCookieAmongOthers() {
        XCTAssertEqual(cookie("chub_session=tok"), "tok")
        XCTAssertEqual(cookie("theme=dark; chub_session=tok; lang=en"), "tok")
        XCTAssertEqual(cookie("theme=dark;chub_session=tok;lang=en"), "tok")
        XCTAssertEqual(cookie("lang=en; chub_session=tok"), "tok")
    }

    func testSpacesAndTabsAroundNamesAndValuesAreIgnored() {
        XCTAssertEqual(cookie("  chub_session=tok  "), "tok")
        XCTAssertEqual(cookie("a=1 ;  chub_session = tok ; b=2"), "tok")
        XCTAssertEqual(cookie("a=1;\tchub_session=\ttok"), "tok")
    }

    func testValueKeepsEverythingAfterTheFirstEquals() {
        XCTAssertEqual(cookie("chub_session=abc==; x=1"), "abc==")
        XCTAssertEqual(cookie("chub_session=a=b=c"), "a=b=c")
    }

    /// Our server never sets a quoted value, so quotes are taken as part of the value: a
    /// quoted token does not silently turn into the bare one.
    func testQuotedValueIsTakenVerbatim() {
        XCTAssertEqual(cookie("chub_session=\"tok\""), "\"tok\"")
        XCTAssertEqual(cookie("a=\"x; y\"; chub_session=tok"), "tok", "a quoted ';' in another cookie still splits")
    }

    func testFirstOfDuplicateCookiesWins() {
        XCTAssertEqual(cookie("chub_session=first; chub_session=second"), "first")
        XCTAssertEqual(cookie("chub_session=; chub_session=second"), "second", "an empty one is no cookie")
    }

    func testMissingEqualsEmptyAndJunk() {
        XCTAssertNil(cookie(nil))
        XCTAssertNil(cookie(""))
        XCTAssertNil(cookie(";;;"))
        XCTAssertNil(cookie("chub_session"))
        XCTAssertNil(cookie("chub_session="))
        XCTAssertNil(cookie("=tok"))
        XCTAssertEqual(cookie("chub_session; garbage; chub_session=tok"), "tok")
        XCTAssertEqual(cookie("   chub_session=   ") ?? "", "", "nothing usable from a blank value")
    }

    func testAttributeLikeJunkAndLookalikeNamesAreNotTheSession() {
        XCTAssertEqual(cookie("chub_session=tok; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"), "tok")
        XCTAssertEqual(cookie("Path=/; Secure; chub_session=tok"), "tok")
        XCTAssertNil(cookie("Path=/; HttpOnly; Max-Age=2592000"))
        XCTAssertNil(cookie("xchub_session=tok"))
        XCTAssertNil(cookie("chub_session_old=tok"))
        XCTAssertNil(cookie("CHUB_SESSION=tok"), "cookie names are case-sensitive")
        XCTAssertNil(cookie("chub session=tok"))
    }

    func testAuthorizationHeaderWinsOverTheCookie() {
        let jar = "chub_session=cookie-token"
        XCTAssertEqual(secret(authorization: "Bearer header-token", cookie: jar), "header-token")
        XCTAssertEqual(secret(authorization: "bearer header-token", cookie: nil), "header-token")
        XCTAssertEqual(secret(authorization: "BEARER  header-token ", cookie: nil), "header-token")
        // A present but unusable header is not silently replaced by the cookie.
        XCTAssertNil(secret(authorization: "Basic dXNlcjpwdw==", cookie: jar))
        XCTAssertNil(secret(authorization: "Bearer", cookie: jar))
        XCTAssertNil(secret(authorization: "", cookie: jar))
        XCTAssertNil(secret(authorization: "header-token", cookie: jar))
    }
}

/// The secret a request presents, bearer or cookie alike.
private func secret(authorization: String?, cookie: String?) -> String? {
    switch Authenticator.presented(authorization: authorization, cookie: cookie) {
    case .bearer(let value)?, .cookie(let value)?: return value
    case nil: return nil
    }
}
