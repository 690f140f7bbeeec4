/// Checks for client text that goes into a PostgreSQL text column, in the database's own
/// unit: PostgreSQL's length()/character_length() count Unicode code points (Swift's
/// `count` counts grapheme clusters: one flag "🇩🇪" is 1 Character but 2 code points), and
/// no PostgreSQL text value can hold NUL (libpq would also cut a parameter at it).
public enum TextInput {
    /// Whether `text` contains U+0000.
    public static func containsNUL(_ text: String) -> Bool {
        text.utf8.contains(0)
    }

    /// Length as PostgreSQL's character_length counts it (code points).
    public static func databaseLength(_ text: String) -> Int {
        text.unicodeScalars.count
    }

    /// The problem with `text` as the value of `field`, or nil when it fits a column of at
    /// most `maxLength` code points.
    public static func problem(_ text: String, field: String, maxLength: Int) -> FieldError? {
        if containsNUL(text) { return FieldError(field: field, message: "\(field) must not contain NUL characters") }
        if databaseLength(text) > maxLength {
            return FieldError(field: field, message: "\(field) must be at most \(maxLength) characters")
        }
        return nil
    }
}
