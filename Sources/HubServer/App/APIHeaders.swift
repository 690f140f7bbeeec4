import Foundation

/// Headers on every /api answer: never cached (sessions, tokens, run state), and never
/// sniffed into something other than the JSON it is.
enum APIHeaders {
    static let all: [(String, String)] = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
}

extension HTTPResponder {
    /// A JSON API answer with the API headers.
    func apiJSON(_ status: Int, _ json: String, headers: [(String, String)] = []) {
        respondJSON(status: status, Array(json.utf8), headers: headers + APIHeaders.all)
    }

    /// `{"error":{"code":…,"message":…}}` with the API headers.
    func apiError(_ status: Int, _ code: String, _ message: String, headers: [(String, String)] = []) {
        let response = APIResponse.error(status, code, message)
        respondJSON(status: status, response.body, headers: headers + APIHeaders.all)
    }

    func apiError(_ refusal: RequestGuard.Refusal) {
        apiError(refusal.status, refusal.code, refusal.message)
    }
}
