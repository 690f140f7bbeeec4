import Foundation

/// Why a REST body was refused: not a JSON object at all (400), or fields that are wrong (422).
public enum RequestBodyError: Error, Sendable, Equatable {
    case badJSON(String)
    case invalid([FieldError])
}

/// `{"name": optional, "category_ids": [...]}` for estimates and new runs.
public struct RunRequestBody: Sendable, Equatable {
    /// Category ids are at most 64 characters (the catalog's CHECK).
    public static let maxCategoryIDLength = 64
    public let name: String?
    public let categoryIDs: [String]

    private struct Wire: Decodable {
        let name: Loose<String>?
        let categoryIDs: Loose<[String]>?
        enum CodingKeys: String, CodingKey {
            case name
            case categoryIDs = "category_ids"
        }
    }

    public static func decode(_ body: [UInt8]) throws(RequestBodyError) -> RunRequestBody {
        let wire = try decodeObject(Wire.self, body)
        var fields: [FieldError] = []
        if case .wrongType? = wire.name { fields.append(FieldError(field: "name", message: "name must be a string")) }
        guard let categoryIDs = wire.categoryIDs?.value else {
            fields.append(FieldError(field: "category_ids", message: "category_ids must be a list of category ids"))
            throw .invalid(fields)
        }
        // Ids go to the catalog lookup: refuse what no category id can be (NUL, too long)
        // here, so it never reaches libpq as a cut or malformed array literal.
        if let bad = categoryIDs.first(where: { TextInput.containsNUL($0) || TextInput.databaseLength($0) > Self.maxCategoryIDLength }) {
            let shown = String(bad.unicodeScalars.prefix(40).filter { $0 != "\u{0}" }.map(Character.init))
            fields.append(FieldError(field: "category_ids", message: "not a category id: \(shown)"))
        }
        if !fields.isEmpty { throw .invalid(fields) }
        return RunRequestBody(name: wire.name?.value, categoryIDs: categoryIDs)
    }
}

/// `{"budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"}`: all three whole numbers.
public struct SettingsRequestBody: Sendable, Equatable {
    public let settings: BudgetSettings

    /// Int, not Double: a number that is not an exact integer within 64 bits is refused
    /// here (naming the field), never rounded.
    private struct Wire: Decodable {
        let budgetCapCents: Loose<Int>?
        let softWarningPercent: Loose<Int>?
        let maxConcurrentRuns: Loose<Int>?
        enum CodingKeys: String, CodingKey {
            case budgetCapCents = "budget_cap_cents"
            case softWarningPercent = "soft_warning_percent"
            case maxConcurrentRuns = "max_concurrent_runs"
        }
    }

    public static func decode(_ body: [UInt8]) throws(RequestBodyError) -> SettingsRequestBody {
        let wire = try decodeObject(Wire.self, body)
        var fields: [FieldError] = []
        func int(_ value: Loose<Int>?, _ key: Wire.CodingKeys) -> Int {
            guard let v = value?.value else {
                fields.append(FieldError(field: key.rawValue, message: "\(key.rawValue) must be a whole number"))
                return 0
            }
            return v
        }
        let settings = BudgetSettings(budgetCapCents: int(wire.budgetCapCents, .budgetCapCents),
                                      softWarningPercent: int(wire.softWarningPercent, .softWarningPercent),
                                      maxConcurrentRuns: int(wire.maxConcurrentRuns, .maxConcurrentRuns))
        if !fields.isEmpty { throw .invalid(fields) }
        return SettingsRequestBody(settings: settings)
    }
}

/// `{"token": "<api token>"}` exchanged for a session; nil when the body is anything else.
public struct LoginRequestBody: Sendable, Equatable, Decodable {
    public let token: String

    public static func decode(_ body: [UInt8]) -> LoginRequestBody? {
        guard let login = try? decodeObject(LoginRequestBody.self, body), !login.token.isEmpty else { return nil }
        return login
    }
}

/// A REST body as `T`, whose fields are `Loose` so only a body that is not a JSON object
/// (or not JSON) fails here.
func decodeObject<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws(RequestBodyError) -> T {
    guard !body.isEmpty else { throw .badJSON("the request needs a JSON body") }
    guard body.count <= 1 << 20 else { throw .badJSON("the body is over 1 MB") }
    do {
        return try JSONDecoder().decode(T.self, from: Data(body))
    } catch {
        throw .badJSON("the body is not a JSON object")
    }
}
