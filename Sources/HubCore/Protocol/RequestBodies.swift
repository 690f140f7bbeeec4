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

    public static func decode(_ body: [UInt8]) throws(RequestBodyError) -> RunRequestBody {
        let object = try jsonObject(body)
        var fields: [FieldError] = []
        let name = object["name"]
        if let name, !(name is String) && !(name is NSNull) { fields.append(FieldError(field: "name", message: "name must be a string")) }
        guard let ids = object["category_ids"] as? [Any], ids.allSatisfy({ $0 is String }) else {
            fields.append(FieldError(field: "category_ids", message: "category_ids must be a list of category ids"))
            throw .invalid(fields)
        }
        let categoryIDs = ids.compactMap { $0 as? String }
        // Ids go to the catalog lookup: refuse what no category id can be (NUL, too long)
        // here, so it never reaches libpq as a cut or malformed array literal.
        if let bad = categoryIDs.first(where: { TextInput.containsNUL($0) || TextInput.databaseLength($0) > Self.maxCategoryIDLength }) {
            let shown = String(bad.unicodeScalars.prefix(40).filter { $0 != "\u{0}" }.map(Character.init))
            fields.append(FieldError(field: "category_ids", message: "not a category id: \(shown)"))
        }
        if !fields.isEmpty { throw .invalid(fields) }
        return RunRequestBody(name: name as? String, categoryIDs: categoryIDs)
    }
}

/// `{"budget_cap_cents", "soft_warning_percent", "max_concurrent_runs"}`: all three whole numbers.
public struct SettingsRequestBody: Sendable, Equatable {
    public let settings: BudgetSettings

    public static func decode(_ body: [UInt8]) throws(RequestBodyError) -> SettingsRequestBody {
        let object = try jsonObject(body)
        var fields: [FieldError] = []
        func int(_ key: String) -> Int {
            guard let n = object[key] as? NSNumber, !isJSONBoolean(n), n.doubleValue.isFinite,
                  let v = Int(exactly: n.doubleValue) else {
                fields.append(FieldError(field: key, message: "\(key) must be a whole number"))
                return 0
            }
            return v
        }
        let settings = BudgetSettings(budgetCapCents: int("budget_cap_cents"), softWarningPercent: int("soft_warning_percent"),
                                      maxConcurrentRuns: int("max_concurrent_runs"))
        if !fields.isEmpty { throw .invalid(fields) }
        return SettingsRequestBody(settings: settings)
    }
}

func jsonObject(_ body: [UInt8]) throws(RequestBodyError) -> [String: Any] {
    guard !body.isEmpty else { throw .badJSON("the request needs a JSON body") }
    guard body.count <= 1 << 20 else { throw .badJSON("the body is over 1 MB") }
    guard let value = try? JSONSerialization.jsonObject(with: Data(body)), let object = value as? [String: Any] else {
        throw .badJSON("the body is not a JSON object")
    }
    return object
}

/// Booleans arrive as NSNumber too; `true` must not read as 1.
func isJSONBoolean(_ number: NSNumber) -> Bool {
    let type = String(cString: number.objCType)
    return type == "c" || type == "B"
}
