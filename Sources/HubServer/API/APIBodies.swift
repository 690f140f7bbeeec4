import Foundation
import HubCore
import HubEngine
import HubStore

/// `{"items": [...], "next_cursor": ...}`.
struct Page<T: Encodable, C: Encodable>: Encodable {
    let items: [T]
    let nextCursor: C?

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}

/// The run object plus the budget warnings of its creation.
struct RunWithWarnings: Encodable {
    let run: RunRecord
    let warnings: [String]
    enum Key: String, CodingKey { case warnings }
    func encode(to encoder: any Encoder) throws {
        try run.encode(to: encoder)
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(warnings, forKey: .warnings)
    }
}

/// `{"name": optional, "category_ids": [...]}` for estimates and new runs.
struct CategoriesBody {
    let name: String?
    let categoryIDs: [String]

    static func decode(_ body: [UInt8]) throws -> CategoriesBody {
        let object = try jsonObject(body)
        var fields: [FieldError] = []
        let name = object["name"]
        if let name, !(name is String) && !(name is NSNull) { fields.append(FieldError(field: "name", message: "name must be a string")) }
        guard let ids = object["category_ids"] as? [Any], ids.allSatisfy({ $0 is String }) else {
            fields.append(FieldError(field: "category_ids", message: "category_ids must be a list of category ids"))
            throw CollectionServiceFailure.validation(fields)
        }
        if !fields.isEmpty { throw CollectionServiceFailure.validation(fields) }
        return CategoriesBody(name: name as? String, categoryIDs: ids.compactMap { $0 as? String })
    }
}

/// `{"budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"}`: all three integers.
struct SettingsBody {
    let settings: BudgetSettings

    static func decode(_ body: [UInt8]) throws -> SettingsBody {
        let object = try jsonObject(body)
        var fields: [FieldError] = []
        func int(_ key: String) -> Int {
            guard let n = object[key] as? NSNumber, String(cString: n.objCType) != "c", let v = Int(exactly: n.doubleValue) else {
                fields.append(FieldError(field: key, message: "\(key) must be a whole number"))
                return 0
            }
            return v
        }
        let settings = BudgetSettings(budgetCapCents: int("budget_cap_cents"), softWarningPercent: int("soft_warning_percent"),
                                      maxConcurrentRuns: int("max_concurrent_runs"))
        if !fields.isEmpty { throw CollectionServiceFailure.validation(fields) }
        return SettingsBody(settings: settings)
    }
}

typealias CollectionServiceFailure = CollectionService.Failure

func jsonObject(_ body: [UInt8]) throws -> [String: Any] {
    guard !body.isEmpty else { throw APIError.badJSON("the request needs a JSON body") }
    guard let value = try? JSONSerialization.jsonObject(with: Data(body)), let object = value as? [String: Any] else {
        throw APIError.badJSON("the body is not a JSON object")
    }
    return object
}

extension APIResponse {
    static func json(_ status: Int, _ text: String) -> APIResponse { APIResponse(status: status, body: Array(text.utf8)) }

    static func encoded<T: Encodable>(_ status: Int, _ value: T) throws -> APIResponse {
        APIResponse(status: status, body: Array(try JSONOutput.encode(value)))
    }
}
