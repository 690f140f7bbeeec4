import Foundation

/// A request's query as lws 4.1 hands it over: one percent-decoded fragment per
/// `&`-separated part (`+` already a space). The one place that turns the fragments into
/// `HTTPRequest.query` / `UpgradeRequest.query` and their `queryItems`.
struct DecodedQuery {
    /// The fragments joined with `&` (empty when there is no query).
    let text: String
    /// `name=value` fragments split at their first `=`; a fragment without one is a name
    /// with an empty value.
    let items: [(name: String, value: String)]

    init(fragments: [String]) {
        text = fragments.joined(separator: "&")
        items = fragments.map { fragment in
            guard let eq = fragment.firstIndex(of: "=") else { return (fragment, "") }
            return (String(fragment[..<eq]), String(fragment[fragment.index(after: eq)...]))
        }
    }
}
