import Foundation
import HubCore
import HubStore
import Logging

/// What a request's credentials resolve to, decided from memory.
enum AuthResult {
    case authenticated(Principal, Credential)
    /// No `Authorization: Bearer` and no session cookie.
    case missing
    /// A credential was presented but is unknown, revoked, ended or expired.
    case unknown
    /// The hub has not loaded credentials yet (database unreachable since start).
    case unavailable
}

/// Resolves bearer tokens and session cookies to a principal from memory: credentials are
/// loaded at start, kept current from NOTIFY (migration 006) and re-read after a LISTEN
/// reconnect. A lookup is a SHA-256 and a dictionary read, so random secrets cost no query
/// and the loop never waits for the database. Loop thread only (after `loadNow`).
// @unchecked Sendable: the credential table is read and replaced on the loop thread only (loadNow runs before the loop starts).
final class Authenticator: @unchecked Sendable {
    static let cookieName = "chub_session"
    /// Longest secret looked at; anything longer is unknown without hashing it.
    static let maxSecretLength = 256

    private let repository: CredentialRepository
    private let logger: Logger
    private let worker = DispatchQueue(label: "collection-hub.credentials")
    let lastUsed: LastUsedRecorder
    private var table = CredentialTable()
    private(set) var isLoaded = false
    private var reloadInFlight = false
    private var reloadAgain = false
    /// Changes heard while a reload reads: replayed on top of its snapshot, which may
    /// predate them.
    private var heardDuringReload: [(inout CredentialTable) -> Void] = []
    /// Called after credentials changed (NOTIFY, reload, local logout): re-checks open
    /// connections.
    var onChange: (() -> Void)?

    init(pool: ConnectionPool, logger: Logger) {
        self.repository = CredentialRepository(pool: pool)
        self.lastUsed = LastUsedRecorder(pool: pool)
        self.logger = logger
    }

    /// Before the loop runs: reads every live credential (blocking; never on the loop).
    /// A failure leaves the hub answering 503 until the LISTEN connection's reload succeeds.
    func loadNow() {
        do {
            table = CredentialTable(try repository.snapshot())
            isLoaded = true
        } catch {
            logger.warning("cannot load credentials yet: \(error)")
        }
    }

    /// Which credential a request presents: `Authorization: Bearer …`, else the session
    /// cookie. Another Authorization scheme presents nothing.
    static func presented(authorization: String?, cookie: String?) -> Presented? {
        if let authorization {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                return .bearer(String(parts[1]).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
        guard let cookie else { return nil }
        for pair in cookie.split(separator: ";") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces) == cookieName {
                return .cookie(String(kv[1]).trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }

    /// A presented credential.
    enum Presented {
        case bearer(String)
        case cookie(String)
    }

    /// Loop thread, synchronous, no I/O: who the request's headers say it is. Safe to call
    /// at headers-complete, before any body is read.
    func authenticate(authorization: String?, cookie: String?) -> AuthResult {
        guard let presented = Self.presented(authorization: authorization, cookie: cookie) else { return .missing }
        return authenticate(presented)
    }

    func authenticate(_ presented: Presented) -> AuthResult {
        guard isLoaded else { return .unavailable }
        switch presented {
        case .bearer(let secret):
            guard let principal = token(secret: secret) else { return .unknown }
            return .authenticated(principal, .token(principal.tokenID))
        case .cookie(let secret):
            guard !secret.isEmpty, secret.utf8.count <= Self.maxSecretLength else { return .unknown }
            let hash = SHA256.hash(Array(secret.utf8))
            guard let principal = table.session(hash: hash, now: Date()) else { return .unknown }
            lastUsed.note(principal.tokenID)
            return .authenticated(principal, .session(hash: hash))
        }
    }

    /// The principal of a live API token (login takes a token, never a session id).
    func token(secret: String) -> Principal? {
        guard !secret.isEmpty, secret.utf8.count <= Self.maxSecretLength else { return nil }
        guard let principal = table.token(hash: SHA256.hash(Array(secret.utf8))) else { return nil }
        lastUsed.note(principal.tokenID)
        return principal
    }

    func isLive(_ credential: Credential) -> Bool {
        !isLoaded || table.isLive(credential, now: Date())
    }

    // MARK: - Keeping memory current (loop thread)

    /// Applies credential notifications at once; revocations close connections via onChange.
    func apply(_ notifications: [PostgresNotification]) {
        var changed = false
        for note in notifications {
            guard let change = CredentialChange.parse(note.payload) else {
                logger.warning("ignoring a credential notification that is not ours: \(note.payloadString.prefix(80))")
                continue
            }
            update { $0.apply(change) }
            changed = true
        }
        if changed { onChange?() }
    }

    /// Re-reads every credential on a worker (after a LISTEN (re)connect: changes made while
    /// nobody listened were not heard), then installs it on the loop.
    func reload(loop: HubLoop) {
        guard !reloadInFlight else {
            reloadAgain = true
            return
        }
        reloadInFlight = true
        heardDuringReload = []
        worker.async { [repository, weak loop, self] in
            let result = Result { try repository.snapshot() }
            loop?.post { [weak loop] in
                guard let loop else { return }
                self.reloaded(result, loop: loop)
            }
        }
    }

    private func reloaded(_ result: Result<CredentialSnapshot, Error>, loop: HubLoop) {
        reloadInFlight = false
        switch result {
        case .success(let snapshot):
            var fresh = CredentialTable(snapshot)
            for change in heardDuringReload { change(&fresh) }
            table = fresh
            isLoaded = true
            onChange?()
        case .failure(let error):
            // Memory stays as it was; try again shortly.
            logger.warning("credential reload failed: \(error)")
            heardDuringReload = []
            reloadAgain = false
            _ = loop.schedule(after: .seconds(1)) { [weak self, weak loop] in
                guard let self, let loop else { return }
                self.reload(loop: loop)
            }
            return
        }
        heardDuringReload = []
        if reloadAgain {
            reloadAgain = false
            reload(loop: loop)
        }
    }

    /// Changes the table now, and again on top of a reload's snapshot if one is reading.
    private func update(_ change: @escaping (inout CredentialTable) -> Void) {
        change(&table)
        if reloadInFlight { heardDuringReload.append(change) }
    }

    /// A session this hub just created: usable at once, before its NOTIFY comes back.
    func sessionStarted(_ session: LiveSession) {
        update { $0.apply(.session(session, live: true)) }
    }

    /// A session logged out here: refused at once, before its NOTIFY comes back.
    func sessionEnded(hash: [UInt8]) {
        update { $0.removeSession(hash: hash) }
        onChange?()
    }

    /// Periodic: drops expired sessions (connections on them are closed by onChange).
    func expire() {
        table.pruneExpired(now: Date())
        onChange?()
    }
}
