import Foundation
import GRDB

/// Who is calling the API or using the web pages, and what they may see.
public struct StaffIdentity: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable, Codable {
        /// Reads everything and acts on reports.
        case hotline
        /// Reads and acts on the areas their roster entry covers.
        case officer
        /// Also manages tokens and users, reads the audit and channel logs.
        case admin
    }

    public var name: String
    public var role: Role
    /// For the officer role: the roster id whose areas scope what they see.
    public var officerID: String?

    public init(name: String, role: Role, officerID: String? = nil) {
        self.name = name
        self.role = role
        self.officerID = officerID
    }

    /// Whether this role sees reporters' full numbers.
    public var seesReporterNumbers: Bool { role != .officer }
}

public struct APITokenRecord: Codable, Sendable, Equatable, FetchableRecord, SQLRecord {
    public static let tableName = "api_token"

    public var id: Int64
    public var name: String
    public var role: String
    public var officerID: String?
    public var createdAt: Date
    public var revokedAt: Date?
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case officerID = "officer_id"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case lastUsedAt = "last_used_at"
    }
}

extension APITokenRecord {
    public init(sqlRow row: SQLRow) throws {
        guard let id = row["id"].int64, let name = row["name"].string, let role = row["role"].string,
              let createdAt = row["created_at"].date else {
            throw SQLError("api_token \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        self.init(id: id, name: name, role: role, officerID: row["officer_id"].string, createdAt: createdAt,
                  revokedAt: row["revoked_at"].date, lastUsedAt: row["last_used_at"].date)
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    /// Without the hash, which the record never carries: a token is written by ``AppDatabase/insertToken(name:role:officerID:hash:now:)``.
    public func sqlColumns() throws -> [(String, SQLValue)] {
        [("id", id.sqlValue), ("name", name.sqlValue), ("role", role.sqlValue), ("officer_id", officerID.sqlValue),
         ("created_at", createdAt.sqlValue), ("revoked_at", revokedAt.sqlValue), ("last_used_at", lastUsedAt.sqlValue)]
    }
}

/// One line of the audit log: who (a staff name, a token's name, an officer id, or `anonymous`), in what role, did or
/// tried what, on what. Never a child's detail: `target` is a report number or a staff or token name, `detail` a count,
/// redacted filters or a reason.
public struct AuditEntry: Codable, Sendable, Equatable, FetchableRecord, SQLRecord {
    public static let tableName = "audit_log"

    public var id: Int64
    public var at: Date
    public var actor: String
    public var role: String
    public var action: String
    public var target: String?
    public var detail: String?
}

extension AuditEntry {
    public init(sqlRow row: SQLRow) throws {
        guard let id = row["id"].int64, let at = row["at"].date, let actor = row["actor"].string, let role = row["role"].string,
              let action = row["action"].string else {
            throw SQLError("audit_log \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        self.init(id: id, at: at, actor: actor, role: role, action: action, target: row["target"].string, detail: row["detail"].string)
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    public func sqlColumns() throws -> [(String, SQLValue)] {
        [("id", id.sqlValue), ("at", at.sqlValue), ("actor", actor.sqlValue), ("role", role.sqlValue), ("action", action.sqlValue),
         ("target", target.sqlValue), ("detail", detail.sqlValue)]
    }
}

/// Which audit entries to read, newest first.
public struct AuditQuery: Sendable, Equatable {
    public var since: Date?
    public var until: Date?
    /// Exactly this actor.
    public var actor: String?
    /// Exactly this action (`view_report`, `list_reports`, `sign_in_failed` …).
    public var action: String?
    /// Entries older than this id: the next page.
    public var before: Int64?
    public var limit: Int

    public init(since: Date? = nil, until: Date? = nil, actor: String? = nil, action: String? = nil, before: Int64? = nil, limit: Int = 100) {
        self.since = since
        self.until = until
        self.actor = actor
        self.action = action
        self.before = before
        self.limit = limit
    }
}

/// What is remembered of failed sign-ins under one key: an account name or a client address.
public struct SignInThrottleRecord: Sendable, Equatable {
    /// Failures since the key was last forgotten (or reset by a success).
    public var failures: Int
    public var lastFailureAt: Date
    /// No attempt under this key is checked before then.
    public var blockedUntil: Date?

    public init(failures: Int, lastFailureAt: Date, blockedUntil: Date?) {
        self.failures = failures
        self.lastFailureAt = lastFailureAt
        self.blockedUntil = blockedUntil
    }
}

/// The keys sign-in failures are counted under.
public enum SignInThrottleKey {
    /// An account name as typed (known or not, so that an unknown name is throttled like a real one).
    public static func account(_ name: String) -> String { "account:" + String(name.prefix(200)) }
    /// A client address.
    public static func address(_ address: String) -> String { "address:" + String(address.prefix(100)) }
}

// MARK: - Tokens, users, sessions, audit

extension AppDatabase {
    public func insertToken(name: String, role: StaffIdentity.Role, officerID: String?, hash: String, now: Date) async throws -> Int64 {
        try await sqlWrite { session in
            guard let id = try session.value("INSERT INTO api_token (name, role, officer_id, hash, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
                                             name, role.rawValue, officerID, hash, now).int64 else {
                throw SQLError("the new api_token's id was not returned")
            }
            return id
        }
    }

    public func tokens() async throws -> [APITokenRecord] {
        try await sqlRead { session in
            try session.fetchAll(APITokenRecord.self, "SELECT id, name, role, officer_id, created_at, revoked_at, last_used_at FROM api_token ORDER BY id")
        }
    }

    /// Revokes a token by id or name; returns how many.
    public func revokeToken(_ idOrName: String, now: Date) async throws -> Int {
        try await sqlWrite { session in
            try session.execute("UPDATE api_token SET revoked_at = ? WHERE revoked_at IS NULL AND (CAST(id AS TEXT) = ? OR name = ?)",
                                now, idOrName, idOrName)
        }
    }

    /// The identity of the active token with this hash, recording its use: `last_used_at` is written only when the
    /// stored value is older than `touchInterval` (or missing, or ahead of `now`), so a busy token costs one write a minute.
    public func authenticate(tokenHash hash: String, now: Date, touchInterval: TimeInterval = 60) async throws -> StaffIdentity? {
        let found: (identity: StaffIdentity, id: Int64, lastUsedAt: Date?)? = try await sqlRead { session in
            guard let row = try session.row("""
                SELECT id, name, role, officer_id, last_used_at FROM api_token WHERE hash = ? AND revoked_at IS NULL
                """, hash),
                  let role = row["role"].decode(StaffIdentity.Role.self), let id = row["id"].int64, let name = row["name"].string else { return nil }
            return (StaffIdentity(name: name, role: role, officerID: row["officer_id"].string), id, row["last_used_at"].date)
        }
        guard let found else { return nil }
        let stale = now.addingTimeInterval(-touchInterval)
        if found.lastUsedAt.map({ $0 <= stale || $0 > now }) ?? true {
            try await sqlWrite { session in
                // Compared again inside the write: of concurrent requests, one writes.
                _ = try session.execute("""
                    UPDATE api_token SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ? OR last_used_at > ?)
                    """, now, found.id, stale, now)
            }
        }
        return found.identity
    }

    public func identity(forTokenHash hash: String) async throws -> StaffIdentity? {
        try await sqlRead { session in
            guard let row = try session.row("SELECT name, role, officer_id FROM api_token WHERE hash = ? AND revoked_at IS NULL", hash),
                  let role = row["role"].decode(StaffIdentity.Role.self), let name = row["name"].string else { return nil }
            return StaffIdentity(name: name, role: role, officerID: row["officer_id"].string)
        }
    }

    public struct StaffUser: Sendable {
        public var id: Int64
        public var identity: StaffIdentity
        public var passwordHash: String
        /// When an admin disabled the account; a disabled account cannot sign in.
        public var disabledAt: Date?

        /// Nil for a role this version does not know.
        init?(sqlRow row: SQLRow) throws {
            guard let role = row["role"].decode(StaffIdentity.Role.self) else { return nil }
            guard let id = row["id"].int64, let name = row["name"].string, let passwordHash = row["password_hash"].string else {
                throw SQLError("staff_user \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
            }
            self.id = id
            identity = StaffIdentity(name: name, role: role, officerID: row["officer_id"].string)
            self.passwordHash = passwordHash
            disabledAt = row["disabled_at"].date
        }
    }

    public func insertUser(name: String, role: StaffIdentity.Role, officerID: String?, passwordHash: String, now: Date) async throws {
        try await sqlWrite { session in
            _ = try session.execute("INSERT INTO staff_user (name, role, officer_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                                    name, role.rawValue, officerID, passwordHash, now)
        }
    }

    public func user(named name: String) async throws -> StaffUser? {
        try await sqlRead { session in
            try session.row("SELECT * FROM staff_user WHERE name = ?", name).flatMap { try StaffUser(sqlRow: $0) }
        }
    }

    /// Sorted here by the names' bytes, as SQLite's `ORDER BY name` does: PostgreSQL's would follow the database's
    /// collation (in most locales case and punctuation only break ties), listing the same accounts in another order.
    public func users() async throws -> [StaffUser] {
        try await sqlRead { session in
            try session.rows("SELECT * FROM staff_user").compactMap { try StaffUser(sqlRow: $0) }
                .sorted { $0.identity.name.utf8.lexicographicallyPrecedes($1.identity.name.utf8) }
        }
    }

    /// Clears the account's sign-in throttle (``SignInThrottleKey/account(_:)``); returns how many accounts have the name.
    public func unlockUser(name: String) async throws -> Int {
        try await sqlWrite { session in
            try session.execute("DELETE FROM sign_in_throttle WHERE throttle_key = ?", SignInThrottleKey.account(name))
            return try session.value("SELECT COUNT(*) FROM staff_user WHERE name = ?", name).int ?? 0
        }
    }

    /// Disables (`disabled: true`, ending the account's sessions; an account already disabled keeps its date) or enables
    /// an account; returns how many accounts have the name.
    public func setUserDisabled(name: String, _ disabled: Bool, now: Date) async throws -> Int {
        try await sqlWrite { session in
            if disabled {
                let changed = try session.execute("UPDATE staff_user SET disabled_at = COALESCE(disabled_at, ?) WHERE name = ?", now, name)
                try Self.deleteSessions(session, userNamed: name)
                return changed
            }
            return try session.execute("UPDATE staff_user SET disabled_at = NULL WHERE name = ?", name)
        }
    }

    /// Deletes an account with its sessions and sign-in throttle; returns how many accounts were deleted.
    public func deleteUser(name: String) async throws -> Int {
        try await sqlWrite { session in
            try Self.deleteSessions(session, userNamed: name)
            try session.execute("DELETE FROM sign_in_throttle WHERE throttle_key = ?", SignInThrottleKey.account(name))
            return try session.execute("DELETE FROM staff_user WHERE name = ?", name)
        }
    }

    /// Sets a new password: ends the account's sessions and clears its sign-in throttle; returns how many accounts changed.
    public func setPassword(name: String, passwordHash: String) async throws -> Int {
        try await sqlWrite { session in
            let changed = try session.execute("UPDATE staff_user SET password_hash = ? WHERE name = ?", passwordHash, name)
            try Self.deleteSessions(session, userNamed: name)
            try session.execute("DELETE FROM sign_in_throttle WHERE throttle_key = ?", SignInThrottleKey.account(name))
            return changed
        }
    }

    /// Replaces the stored hash of the same password (a stronger cost after sign-in); sessions stay.
    public func rehashPassword(userID: Int64, from old: String, to new: String) async throws {
        try await sqlWrite { session in
            // Only if nobody changed the password meanwhile.
            _ = try session.execute("UPDATE staff_user SET password_hash = ? WHERE id = ? AND password_hash = ?", new, userID, old)
        }
    }

    static func deleteSessions(_ session: any SQLSession, userNamed name: String) throws {
        try session.execute("DELETE FROM web_session WHERE user_id IN (SELECT id FROM staff_user WHERE name = ?)", name)
    }

    /// A new sign-in session; sessions expired by `now` (the deployment's clock, not the machine's) go at the same time.
    public func createSession(userID: Int64, hash: String, csrf: String, expires: Date, now: Date) async throws {
        try await sqlWrite { session in
            try session.execute("DELETE FROM web_session WHERE expires_at < ?", now)
            try session.execute("INSERT INTO web_session (hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)", hash, userID, csrf, expires)
        }
    }

    public func session(hash: String, now: Date) async throws -> (StaffIdentity, csrf: String)? {
        try await sqlRead { session in
            guard let row = try session.row("""
                SELECT u.name, u.role, u.officer_id, s.csrf FROM web_session s JOIN staff_user u ON u.id = s.user_id
                WHERE s.hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL
                """, hash, now), let role = row["role"].decode(StaffIdentity.Role.self),
                  let name = row["name"].string, let csrf = row["csrf"].string else { return nil }
            return (StaffIdentity(name: name, role: role, officerID: row["officer_id"].string), csrf)
        }
    }

    public func deleteSession(hash: String) async throws {
        try await sqlWrite { session in _ = try session.execute("DELETE FROM web_session WHERE hash = ?", hash) }
    }

    /// An entry in the audit log; `target` and `detail` never hold a child's detail, a phone number or free text.
    @discardableResult
    public func audit(_ identity: StaffIdentity, action: String, target: String?, detail: String? = nil, now: Date) async throws -> Int64 {
        try await audit(actor: identity.name, role: identity.role.rawValue, action: action, target: target, detail: detail, now: now)
    }

    /// An entry for an actor that is no staff identity, such as `anonymous` for a failed sign-in.
    @discardableResult
    public func audit(actor: String, role: String, action: String, target: String?, detail: String?, now: Date) async throws -> Int64 {
        try await sqlWrite { session in
            guard let id = try session.value("INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                             now, actor, role, action, target, detail).int64 else {
                throw SQLError("the new audit_log entry's id was not returned")
            }
            return id
        }
    }

    /// Completes an entry written before its outcome was known (a streamed export: its rows are counted at the end).
    public func completeAudit(_ id: Int64, detail: String) async throws {
        try await sqlWrite { session in
            _ = try session.execute("UPDATE audit_log SET detail = ? WHERE id = ?", detail, id)
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        try await auditLog(AuditQuery(limit: limit))
    }

    /// The entries `query` asks for, newest first.
    public func auditLog(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await sqlRead { session in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let since = query.since { conditions.append("at >= ?"); arguments.append(since.sqlValue) }
            if let until = query.until { conditions.append("at < ?"); arguments.append(until.sqlValue) }
            if let actor = query.actor { conditions.append("actor = ?"); arguments.append(actor.sqlValue) }
            if let action = query.action { conditions.append("action = ?"); arguments.append(action.sqlValue) }
            if let before = query.before { conditions.append("id < ?"); arguments.append(before.sqlValue) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments.append(max(query.limit, 0).sqlValue)
            return try session.rows("SELECT * FROM audit_log \(filter) ORDER BY id DESC LIMIT ?", arguments).map(AuditEntry.init(sqlRow:))
        }
    }

    // MARK: - Sign-in throttle

    /// The throttle records of `keys` (a key without failures to remember is absent).
    public func signInThrottles(_ keys: [String]) async throws -> [String: SignInThrottleRecord] {
        try await sqlRead { session in try Self.throttles(session, keys) }
    }

    /// In one transaction: removes records whose last failure is older than `forgetBefore`, hands `update` the records
    /// of `keys` (absent when none), and writes back what it returns — a key of `keys` missing from its answer is deleted.
    public func updateSignInThrottles<Outcome: Sendable>(
        _ keys: [String], forgetBefore: Date,
        _ update: @escaping @Sendable ([String: SignInThrottleRecord]) -> (records: [String: SignInThrottleRecord], outcome: Outcome)
    ) async throws -> Outcome {
        try await sqlWrite { session in
            try session.execute("""
                DELETE FROM sign_in_throttle WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until < ?)
                """, forgetBefore, forgetBefore)
            let (records, outcome) = update(try Self.throttles(session, keys))
            for key in keys {
                if let record = records[key] {
                    try session.execute("""
                        INSERT INTO sign_in_throttle (throttle_key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?)
                        ON CONFLICT(throttle_key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                            blocked_until = excluded.blocked_until
                        """, key, record.failures, record.lastFailureAt, record.blockedUntil)
                } else {
                    try session.execute("DELETE FROM sign_in_throttle WHERE throttle_key = ?", key)
                }
            }
            return outcome
        }
    }

    static func throttles(_ session: any SQLSession, _ keys: [String]) throws -> [String: SignInThrottleRecord] {
        var records: [String: SignInThrottleRecord] = [:]
        for key in Set(keys) {
            guard let row = try session.row("SELECT * FROM sign_in_throttle WHERE throttle_key = ?", key) else { continue }
            guard let failures = row["failures"].int, let lastFailureAt = row["last_failure_at"].date else {
                throw SQLError("sign_in_throttle \(key): a required column is missing or unreadable")
            }
            records[key] = SignInThrottleRecord(failures: failures, lastFailureAt: lastFailureAt, blockedUntil: row["blocked_until"].date)
        }
        return records
    }
}
