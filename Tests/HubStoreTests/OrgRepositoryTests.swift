import Foundation
import HubCore
@testable import HubStore
import XCTest

final class OrgRepositoryTests: XCTestCase {
    func testCreateStoresTheRowAndFindsItByIdAndSlug() throws {
        let f = try StoreFixture()
        let orgs = OrgRepository(pool: f.pool)
        let org = try orgs.orgCreate(name: "Acme Trading")
        XCTAssertEqual(org.name, "Acme Trading")
        XCTAssertEqual(org.slug, "acme-trading")
        XCTAssertEqual(try f.text("SELECT name AS v FROM orgs WHERE id = $1", [org.id]), "Acme Trading")
        XCTAssertEqual(try orgs.orgFind(org.id.uuidString), org)
        XCTAssertEqual(try orgs.orgFind(org.id.uuidString.lowercased()), org)
        XCTAssertEqual(try orgs.orgFind("acme-trading"), org)
        XCTAssertNil(try orgs.orgFind("nobody"))
        XCTAssertNil(try orgs.orgFind(UUID().uuidString))
        XCTAssertEqual(try orgs.orgFind("org-b")?.id, f.orgB.id)
    }

    func testDuplicateAndInvalidOrgsAreRefusedWithoutARow() throws {
        let f = try StoreFixture()
        let orgs = OrgRepository(pool: f.pool)
        XCTAssertThrowsError(try orgs.orgCreate(name: "Another A", slug: "org-a")) {
            XCTAssertEqual($0 as? StoreError, .conflict("an org with slug org-a already exists"))
        }
        for (name, slug) in [("Bad", "Has Spaces"), ("Bad", "-leading"), ("Bad", "UPPER"), ("", "empty-name"),
                             (String(repeating: "x", count: 201), "long-name"), ("Bad", String(repeating: "s", count: 64))] {
            XCTAssertThrowsError(try orgs.orgCreate(name: name, slug: slug), slug) { error in
                guard case .invalid = error as? StoreError else { return XCTFail("\(slug): \(error)") }
            }
        }
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM orgs"), 2)
    }

    func testSlugify() {
        XCTAssertEqual(OrgRepository.slugify("Acme Trading"), "acme-trading")
        XCTAssertEqual(OrgRepository.slugify("  Acme -- Trading!! Co. "), "acme-trading-co")
        XCTAssertEqual(OrgRepository.slugify("Café Zürich 2"), "caf-z-rich-2")
        XCTAssertEqual(OrgRepository.slugify("!!!"), "org")
        XCTAssertEqual(OrgRepository.slugify(""), "org")
        XCTAssertEqual(OrgRepository.slugify(String(repeating: "ab ", count: 40)).count, 63)
        // Every slug it makes is one the schema accepts.
        for name in ["Acme", "Café Zürich 2", "!!!", String(repeating: "ab ", count: 40), "9 Lives", "a-b"] {
            let slug = OrgRepository.slugify(name)
            XCTAssertNotNil(slug.range(of: "^[a-z0-9][a-z0-9-]{0,62}$", options: .regularExpression), "\(name) → \(slug)")
        }
    }

    func testUserEnsureIsIdempotentByEmail() throws {
        let f = try StoreFixture()
        let orgs = OrgRepository(pool: f.pool)
        let again = try orgs.userEnsure(email: "a@example.com", displayName: "Renamed")
        XCTAssertEqual(again.id, f.userA.id)
        XCTAssertEqual(again.displayName, "A", "an existing user keeps its name")
        let new = try orgs.userEnsure(email: "c@example.com", displayName: "C")
        XCTAssertNotEqual(new.id, f.userA.id)
        XCTAssertEqual(new.email, "c@example.com")
        XCTAssertEqual(try f.count("SELECT count(*)::int AS n FROM users"), 3)
    }
}
