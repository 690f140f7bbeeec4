import Foundation
import HubCore
import HubEngine
import HubStore
import Logging

/// The REST API under /api/v1 (JSON in and out). Runs on the router's worker queue.
public struct CollectionAPI: RESTHandler {
    let service: CollectionService
    let logger: Logger

    public init(service: CollectionService, logger: Logger = Logger(label: "collection-hub.api")) {
        self.service = service
        self.logger = logger
    }

    public func handle(_ request: APIRequest) -> APIResponse {
        do {
            return try route(request)
        } catch let failure as CollectionService.Failure {
            return Self.response(for: failure)
        } catch let error as APIError {
            return error.response
        } catch let error as PostgresError {
            return Self.response(for: error, request, logger)
        } catch {
            logger.error("API \(request.method) /\(request.segments.joined(separator: "/")): \(error)")
            return .error(500, "internal", "unexpected error")
        }
    }

    private func route(_ r: APIRequest) throws -> APIResponse {
        let s = r.segments
        // status is the badge's endpoint: collection.view may read it.
        if s == ["status"] {
            try requireMethod(r, "GET")
            guard r.principal.has(Permission.adminAutomation) || r.principal.has(Permission.collectionView) else { throw APIError.forbidden }
            let c = try service.counts(orgID: r.principal.orgID)
            return try .encoded(200, RunCounts(running: c.running, pending: c.pending, paused: c.paused))
        }
        // collection.view reads what the WebSocket org topic already shows it: the run
        // objects (list and one run). Items, sellers, settings and every write stay admin.
        let viewerReadable = r.method == "GET" && (s == ["runs"] || (s.count == 2 && s[0] == "runs"))
        guard r.principal.has(Permission.adminAutomation)
                || (viewerReadable && r.principal.has(Permission.collectionView)) else { throw APIError.forbidden }
        let org = r.principal.orgID
        let actor = CollectionService.Actor(userID: r.principal.userID, ipAddress: r.peerAddress, userAgent: r.userAgent)
        switch (r.method, s.count, s.first) {
        case ("GET", 1, "settings"):
            return try .encoded(200, service.getSettings(orgID: org))
        case ("PUT", 1, "settings"):
            let body = try decodeBody(SettingsRequestBody.decode, r.body)
            return try .encoded(200, service.updateSettings(orgID: org, body.settings, actor: actor))
        case ("GET", 1, "categories"):
            return try .encoded(200, Page(items: service.listCategories(), nextCursor: nil as String?))
        case ("POST", 1, "estimate"):
            let body = try decodeBody(RunRequestBody.decode, r.body)
            return try .encoded(200, service.estimate(orgID: org, categoryIDs: body.categoryIDs))
        case ("POST", 1, "runs"):
            let body = try decodeBody(RunRequestBody.decode, r.body)
            let created = try service.createRun(orgID: org, name: body.name, categoryIDs: body.categoryIDs, actor: actor)
            return try .encoded(201, RunWithWarnings(run: created.run, warnings: created.warnings))
        case ("GET", 1, "runs"):
            let status = try r.query["status"].map { value -> RunStatus in
                guard let st = RunStatus(rawValue: value) else { throw APIError.invalidQuery("status", "unknown status \(value.prefix(20))") }
                return st
            }
            let page = try service.listRuns(orgID: org, status: status, limit: try limit(r), cursor: r.query["cursor"])
            return try .encoded(200, Page(items: page.runs, nextCursor: page.nextCursor))
        case ("GET", 2, "runs"):
            return try .encoded(200, service.getRun(orgID: org, runID: try runID(s[1])))
        case ("POST", 3, "runs") where ["pause", "resume", "cancel"].contains(s[2]):
            let id = try runID(s[1])
            let run: RunRecord
            switch s[2] {
            case "pause": run = try service.pause(orgID: org, runID: id, actor: actor)
            case "resume": run = try service.resume(orgID: org, runID: id, actor: actor)
            default: run = try service.cancel(orgID: org, runID: id, actor: actor)
            }
            return try .encoded(200, run)
        case ("GET", 3, "runs") where s[2] == "items":
            let status = try r.query["status"].map { v -> ItemStatus in
                guard let st = ItemStatus(rawValue: v) else { throw APIError.invalidQuery("status", "unknown item status") }
                return st
            }
            let type = try r.query["item_type"].map { v -> ItemType in
                guard let t = ItemType(rawValue: v) else { throw APIError.invalidQuery("item_type", "item_type is amazon_product or ebay_seller") }
                return t
            }
            // `cursor` (a next_cursor this API gave out) continues the default newest-first
            // listing, like runs and sellers; ascending pages continue with `after=`.
            var before = try seq(r, "before")
            if let cursor = try seq(r, "cursor") {
                guard r.query["after"] == nil, before == nil else {
                    throw APIError.invalidQuery("cursor", "send cursor alone, or after/before, not both")
                }
                before = cursor
            }
            let page = try service.listItems(orgID: org, runID: try runID(s[1]), status: status, itemType: type,
                                             after: try seq(r, "after"), before: before, limit: try limit(r))
            return try .encoded(200, Page(items: page.items, nextCursor: page.nextCursor))
        case ("GET", 1, "sellers"):
            let offset = try r.query["cursor"].map { v -> Int in
                guard let o = Int(v), o >= 0, o <= 1_000_000 else { throw APIError.invalidQuery("cursor", "cursor is not one this API gave out") }
                return o
            } ?? 0
            if let q = r.query["q"], TextInput.containsNUL(q) { throw APIError.invalidQuery("q", "q must not contain NUL characters") }
            let q = r.query["q"].flatMap { $0.isEmpty ? nil : String($0.unicodeScalars.prefix(200).map(Character.init)) }
            let lim = try limit(r)
            let sellers = try service.listSellers(orgID: org, search: q, limit: lim, offset: offset)
            return try .encoded(200, Page(items: sellers, nextCursor: sellers.count == lim ? String(offset + lim) : nil))
        default:
            if Self.isRoute(s) { throw APIError.methodNotAllowed }
            throw APIError.notFound
        }
    }

    /// Whether `segments` name a route some other method answers: only then is the answer
    /// 405; a path no method answers (/settings/x, /runs/{id}/x) is 404.
    static func isRoute(_ s: [String]) -> Bool {
        switch (s.count, s.first) {
        case (1, "settings"), (1, "categories"), (1, "estimate"), (1, "runs"), (1, "sellers"), (2, "runs"): return true
        case (3, "runs"): return ["pause", "resume", "cancel", "items"].contains(s[2])
        default: return false
        }
    }

    private func requireMethod(_ r: APIRequest, _ method: String) throws {
        if r.method != method { throw APIError.methodNotAllowed }
    }

    private func runID(_ text: String) throws -> UUID {
        // A malformed id is simply a run that does not exist.
        guard let id = UUID(uuidString: text) else { throw CollectionService.Failure.notFound("no such run") }
        return id
    }

    private func limit(_ r: APIRequest) throws -> Int {
        guard let text = r.query["limit"] else { return 50 }
        guard let n = Int(text), (1...200).contains(n) else { throw APIError.invalidQuery("limit", "limit must be between 1 and 200") }
        return n
    }

    private func seq(_ r: APIRequest, _ name: String) throws -> Int64? {
        guard let text = r.query[name] else { return nil }
        guard let n = Int64(text), let bounded = SequenceNumber.bounded(n) else {
            if name == "cursor" { throw APIError.invalidQuery(name, "cursor is not one this API gave out") }
            throw APIError.invalidQuery(name, "\(name) must be a sequence number between 0 and \(SequenceNumber.max)")
        }
        return bounded
    }

    /// A database error: the caller's values (SQLSTATE class 22/23) are a 422 naming the
    /// field; an unreachable or overloaded database is a 503; anything else is our bug.
    static func response(for error: PostgresError, _ request: APIRequest, _ logger: Logger) -> APIResponse {
        let route = "\(request.method) /\(request.segments.joined(separator: "/"))"
        if error.isCausedByInput {
            logger.notice("API \(route): refused input: \(error)")
            let field = error.column ?? error.constraint ?? "request"
            return APIError.invalidQuery(field, "a value in the request is not acceptable: \(error.message)").response
        }
        if error.isConnectionError || error.code == .poolTimeout || error.code == .poolClosed
            || error.isQueryCanceled || error.isSerializationFailure {
            logger.warning("API \(route): \(error)")
            return .error(503, "unavailable", "the database is not reachable; retry")
        }
        logger.error("API \(route): \(error)")
        return .error(500, "internal", "unexpected database error")
    }

    static func response(for failure: CollectionService.Failure) -> APIResponse {
        switch failure {
        case .validation(let fields):
            return .error(422, "validation", failure.description, fields: fields)
        case .overBudget(let m): return .error(400, "over_budget", m)
        case .notFound(let m): return .error(404, "not_found", m)
        case .invalidTransition(let m): return .error(409, "invalid_transition", m)
        case .conflict(let m): return .error(409, "conflict", m)
        }
    }
}

/// Client mistakes outside the service's own validation.
enum APIError: Error {
    case badJSON(String)
    case invalidQuery(String, String)
    case forbidden
    case notFound
    case methodNotAllowed

    var response: APIResponse {
        switch self {
        case .badJSON(let m): return .error(400, "bad_json", m)
        case .invalidQuery(let field, let m):
            return .error(422, "validation", m, fields: [FieldError(field: field, message: m)])
        case .forbidden: return .error(403, "forbidden", "this token lacks the admin.automation permission")
        case .notFound: return .error(404, "not_found", "no such endpoint")
        case .methodNotAllowed: return .error(405, "method_not_allowed", "that method is not allowed here")
        }
    }
}
