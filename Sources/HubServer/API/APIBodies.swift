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

/// Decodes a REST body with HubCore's decoders, mapping refusals to API failures.
func decodeBody<T>(_ decode: ([UInt8]) throws(RequestBodyError) -> T, _ body: [UInt8]) throws -> T {
    do {
        return try decode(body)
    } catch .badJSON(let message) {
        throw APIError.badJSON(message)
    } catch .invalid(let fields) {
        throw CollectionService.Failure.validation(fields)
    }
}

/// GET /status: the badge's counts.
struct RunCounts: Encodable {
    let running: Int
    let pending: Int
    let paused: Int
}

extension APIResponse {
    static func encoded<T: Encodable>(_ status: Int, _ value: T) throws -> APIResponse {
        APIResponse(status: status, body: try JSONWriter.encoded(value))
    }
}
