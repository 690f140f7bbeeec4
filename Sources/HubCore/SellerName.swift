import Foundation

/// Seller name normalization for deduplication (the `normalized_name` column).
public enum SellerName {
    /// NFKC (full-width → ASCII), trim, collapse any whitespace run to one space, lowercase:
    /// "SELLER ABC", " seller  abc " and "ＳＥＬＬＥＲ　ＡＢＣ" all give "seller abc".
    public static func normalize(_ name: String) -> String {
        // NFKC again after lowercasing: a few lowercase mappings leave text that NFKC would
        // still change, and the result must be a fixed point to be usable as a unique key.
        let folded = name.precomposedStringWithCompatibilityMapping.lowercased().precomposedStringWithCompatibilityMapping
        return folded.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}
