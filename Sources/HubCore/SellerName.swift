import Foundation

/// Seller name normalization for deduplication.
public enum SellerName {
    /// NFKC (full-width → ASCII), trim, collapse any whitespace run to one space, lowercase:
    /// "SELLER ABC", " seller  abc " and "ＳＥＬＬＥＲ　ＡＢＣ" all give "seller abc".
    public static func normalize(_ name: String) -> String {
        let folded = name.precomposedStringWithCompatibilityMapping.lowercased()
        return folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
