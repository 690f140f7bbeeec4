import Foundation

/// Run names: the default "Collection 2026-01-20 14:30" and the length rule.
public enum RunNaming {
    public static let maxLength = 200

    public static func defaultName(at date: Date, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ v: Int?) -> String { let v = v ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "Collection \(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute))"
    }

    /// Trims; empty means "use the default" (nil); over 200 code points (the DB CHECK's
    /// length()) or any NUL is an error.
    public static func validate(_ name: String?) throws(FieldErrors) -> String? {
        // NUL first: trimming must not make a name with NUL look valid or empty.
        if let name, TextInput.containsNUL(name) {
            throw FieldErrors(errors: [FieldError(field: "name", message: "name must not contain NUL characters")])
        }
        guard let trimmed = name?.trimmingCharacters(in: .whitespacesAndNewlines), !trimmed.isEmpty else { return nil }
        if let problem = TextInput.problem(trimmed, field: "name", maxLength: maxLength) {
            throw FieldErrors(errors: [problem])
        }
        return trimmed
    }
}
