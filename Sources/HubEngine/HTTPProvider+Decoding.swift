import Foundation
import HubCore

/// The bodies of the contract (docs/PROVIDERS.md) and their checks. Anything that does not
/// decode, lacks a required field, has a field of the wrong type or names another item than
/// the one asked for is `bad_response`: the call was answered, so the item is failed, not retried.
extension HTTPProvider {
    struct ListingBody: Decodable {
        struct Entry: Decodable { let asin: String }
        let products: [Entry]
        let nextCursor: Int?
        enum CodingKeys: String, CodingKey {
            case products
            case nextCursor = "next_cursor"
        }
    }

    struct ProductBody: Decodable {
        let asin: String?
        let title: String
        let priceCents: Int
        enum CodingKeys: String, CodingKey {
            case asin, title
            case priceCents = "price_cents"
        }
    }

    struct SellersBody: Decodable {
        struct Entry: Decodable {
            let platformID: String
            let displayName: String
            enum CodingKeys: String, CodingKey {
                case platformID = "platform_id"
                case displayName = "display_name"
            }
        }
        let sellers: [Entry]
    }

    struct SellerBody: Decodable {
        let platformID: String?
        let displayName: String
        let feedbackScore: Int?
        enum CodingKeys: String, CodingKey {
            case platformID = "platform_id"
            case displayName = "display_name"
            case feedbackScore = "feedback_score"
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ body: Data, what: String) throws(ProviderError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: body)
        } catch let DecodingError.keyNotFound(key, _) {
            throw .item(code: "bad_response", message: "\(what): \"\(key.stringValue)\" is missing")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw .item(code: "bad_response", message: "\(what): \"\(path)\" has the wrong type")
        } catch {
            throw .item(code: "bad_response", message: "\(what): the answer is not the expected JSON")
        }
    }

    static func decodeListing(_ body: Data, cursor: Int) throws(ProviderError) -> (asins: [String], next: Int?) {
        let page = try decode(ListingBody.self, body, what: "product listing")
        guard page.products.allSatisfy({ !$0.asin.isEmpty }) else {
            throw .item(code: "bad_response", message: "product listing: a product has an empty asin")
        }
        // A cursor that does not move forward would list the same page forever.
        if let next = page.nextCursor, next <= cursor {
            throw .item(code: "bad_response", message: "product listing: next_cursor \(next) does not follow cursor \(cursor)")
        }
        return (page.products.map(\.asin), page.nextCursor)
    }

    static func decodeProduct(_ body: Data, asin: String) throws(ProviderError) -> Product {
        let p = try decode(ProductBody.self, body, what: "product \(asin)")
        if let other = p.asin, other != asin {
            throw .item(code: "bad_response", message: "product \(asin): the answer is for \(other)")
        }
        guard p.priceCents >= 0 else { throw .item(code: "bad_response", message: "product \(asin): negative price_cents") }
        return Product(asin: asin, title: p.title, priceCents: p.priceCents)
    }

    static func decodeSellers(_ body: Data) throws(ProviderError) -> [SellerRef] {
        let list = try decode(SellersBody.self, body, what: "seller discovery")
        guard list.sellers.allSatisfy({ !$0.platformID.isEmpty }) else {
            throw .item(code: "bad_response", message: "seller discovery: a seller has an empty platform_id")
        }
        return list.sellers.map { SellerRef(platformID: $0.platformID, displayName: $0.displayName) }
    }

    static func decodeSeller(_ body: Data, platformID: String) throws(ProviderError) -> SellerProfile {
        let s = try decode(SellerBody.self, body, what: "seller \(platformID)")
        if let other = s.platformID, other != platformID {
            throw .item(code: "bad_response", message: "seller \(platformID): the answer is for \(other)")
        }
        return SellerProfile(platformID: platformID, displayName: s.displayName, feedbackScore: s.feedbackScore)
    }

    /// `: <message>` from an error body `{"error": …}` or `{"message": …}`, at most 200 characters.
    static func detail(_ body: Data) -> String {
        guard !body.isEmpty, body.count <= 64 * 1024,
              let detail = try? JSONDecoder().decode(ErrorDetail.self, from: body),
              let text = detail.message?.value ?? detail.error?.value, !text.isEmpty else { return "" }
        let clean = String(text.unicodeScalars.map { CharacterSet.controlCharacters.contains($0) ? " " : Character($0) })
        return ": " + (clean.count > 200 ? String(clean.prefix(200)) + "…" : clean)
    }

    /// The fields an error body may explain itself in; either may be missing or not a string.
    private struct ErrorDetail: Decodable {
        let message: Loose<String>?
        let error: Loose<String>?
    }
}
