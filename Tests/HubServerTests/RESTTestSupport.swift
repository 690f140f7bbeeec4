import Foundation
import HubStore
import XCTest

/// One REST answer, decoded just enough to assert on.
struct RESTAnswer {
    let status: Int
    let text: String
    let json: Any?

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }
    var error: [String: Any]? { object["error"] as? [String: Any] }
    var errorCode: String? { error?["code"] as? String }
    /// The `field` of each entry of a validation error, in order.
    var errorFields: [String] { (error?["fields"] as? [[String: Any]])?.compactMap { $0["field"] as? String } ?? [] }
}

extension HubHarness {
    /// A request under /api/v1 over loopback; `token` goes in the Authorization header.
    func rest(_ method: String, _ path: String, token: String?, body: String? = nil, headers: [String] = [],
              file: StaticString = #filePath, line: UInt = #line) throws -> RESTAnswer {
        var all = headers
        if let token { all.append("Authorization: Bearer \(token)") }
        // PUT and POST need a Content-Length (411 otherwise): send an empty body when none is given.
        let sent = body ?? (["POST", "PUT", "PATCH"].contains(method) ? "" : nil)
        let r = try XCTUnwrap(http(port: port, method: method, path: "/api/v1" + path, headers: all, body: sent),
                              "no answer to \(method) \(path)", file: file, line: line)
        let json = try? JSONSerialization.jsonObject(with: Data(r.body.utf8), options: [.fragmentsAllowed])
        return RESTAnswer(status: r.status, text: r.body, json: json)
    }

    func scalar(_ sql: String, _ params: [(any PostgresBindable)?] = []) throws -> String? {
        try pool.query(sql, params).first?.optionalString("v")
    }
}

/// Asserts the status and the JSON error code of an error answer.
func assertError(_ answer: RESTAnswer, _ status: Int, _ code: String, fields: [String]? = nil, _ context: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(answer.status, status, "\(context): \(answer.text)", file: file, line: line)
    XCTAssertEqual(answer.errorCode, code, "\(context): \(answer.text)", file: file, line: line)
    XCTAssertNotNil(answer.error?["message"] as? String, "\(context): every error carries a message", file: file, line: line)
    if let fields {
        XCTAssertEqual(answer.errorFields, fields, "\(context): \(answer.text)", file: file, line: line)
    }
}
