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

public struct APITokenRecord: Codable, Sendable, Equatable, FetchableRecord {
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

/// One line of the audit log: who (a staff name, a token's name, an officer id, or `anonymous`), in what role, did or
/// tried what, on what. Never a child's detail: `target` is a report number or a staff or token name, `detail` a count,
/// redacted filters or a reason.
public struct AuditEntry: Codable, Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var role: String
    public var action: String
    public var target: String?
    public var detail: String?
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
        try await dbWrite { db in
            try db.execute(sql: "INSERT INTO api_token (name, role, officer_id, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, role.rawValue, officerID, hash, now])
            return db.lastInsertedRowID
        }
    }

    public func tokens() async throws -> [APITokenRecord] {
        try await dbRead { db in
            try APITokenRecord.fetchAll(db, sql: "SELECT id, name, role, officer_id, created_at, revoked_at, last_used_at FROM api_token ORDER BY id")
        }
    }

    /// Revokes a token by id or name; returns how many.
    public func revokeToken(_ idOrName: String, now: Date) async throws -> Int {
        try await dbWrite { db in
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE revoked_at IS NULL AND (CAST(id AS TEXT) = ? OR name = ?)",
                           arguments: [now, idOrName, idOrName])
            return db.changesCount
        }
    }

    /// The identity of the active token with this hash, recording its use: `last_used_at` is written only when the
    /// stored value is older than `touchInterval` (or missing, or ahead of `now`), so a busy token costs one write a minute.
    public func authenticate(tokenHash hash: String, now: Date, touchInterval: TimeInterval = 60) async throws -> StaffIdentity? {
        let found: (identity: StaffIdentity, id: Int64, lastUsedAt: Date?)? = try await dbRead { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT id, name, role, officer_id, last_used_at FROM api_token WHERE hash = ? AND revoked_at IS NULL
                """, arguments: [hash]),
                  let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            return (StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"]), row["id"], row["last_used_at"])
        }
        guard let found else { return nil }
        let stale = now.addingTimeInterval(-touchInterval)
        if found.lastUsedAt.map({ $0 <= stale || $0 > now }) ?? true {
            try await dbWrite { db in
                // Compared again inside the write: of concurrent requests, one writes.
                try db.execute(sql: """
                    UPDATE api_token SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ? OR last_used_at > ?)
                    """, arguments: [now, found.id, stale, now])
            }
        }
        return found.identity
    }

    public func identity(forTokenHash hash: String) async throws -> StaffIdentity? {
        try await dbRead { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT name, role, officer_id FROM api_token WHERE hash = ? AND revoked_at IS NULL",
                                             arguments: [hash]),
                  let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            return StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"])
        }
    }

    public struct StaffUser: Sendable {
        public var id: Int64
        public var identity: StaffIdentity
        public var passwordHash: String
        /// When an admin disabled the account; a disabled account cannot sign in.
        public var disabledAt: Date?

        /// Nil for a role this version does not know.
        init?(row: Row) {
            guard let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            id = row["id"]
            identity = StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"])
            passwordHash = row["password_hash"]
            disabledAt = row["disabled_at"]
        }
    }

    public func insertUser(name: String, role: StaffIdentity.Role, officerID: String?, passwordHash: String, now: Date) async throws {
        try await dbWrite { db in
            try db.execute(sql: "INSERT INTO staff_user (name, role, officer_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, role.rawValue, officerID, passwordHash, now])
        }
    }

    public func user(named name: String) async throws -> StaffUser? {
        try await dbRead { db in
            try Row.fetchOne(db, sql: "SELECT * FROM staff_user WHERE name = ?", arguments: [name]).flatMap(StaffUser.init(row:))
        }
    }

    public func users() async throws -> [StaffUser] {
        try await dbRead { db in
            try Row.fetchAll(db, sql: "SELECT * FROM staff_user ORDER BY name").compactMap(StaffUser.init(row:))
        }
    }

    /// Clears the account's sign-in throttle (``SignInThrottleKey/account(_:)``); returns how many accounts have the name.
    public func unlockUser(name: String) async throws -> Int {
        try await dbWrite { db in
            try db.execute(sql: "DELETE FROM sign_in_throttle WHERE throttle_key = ?", arguments: [SignInThrottleKey.account(name)])
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM staff_user WHERE name = ?", arguments: [name]) ?? 0
        }
    }

    /// Disables (`disabled: true`, ending the account's sessions; an account already disabled keeps its date) or enables
    /// an account; returns how many accounts have the name.
    public func setUserDisabled(name: String, _ disabled: Bool, now: Date) async throws -> Int {
        try await dbWrite { db in
            if disabled {
                try db.execute(sql: "UPDATE staff_user SET disabled_at = COALESCE(disabled_at, ?) WHERE name = ?", arguments: [now, name])
                let changed = db.changesCount
                try Self.deleteSessions(db, userNamed: name)
                return changed
            }
            try db.execute(sql: "UPDATE staff_user SET disabled_at = NULL WHERE name = ?", arguments: [name])
            return db.changesCount
        }
    }

    /// Deletes an account with its sessions and sign-in throttle; returns how many accounts were deleted.
    public func deleteUser(name: String) async throws -> Int {
        try await dbWrite { db in
            try Self.deleteSessions(db, userNamed: name)
            try db.execute(sql: "DELETE FROM sign_in_throttle WHERE throttle_key = ?", arguments: [SignInThrottleKey.account(name)])
            try db.execute(sql: "DELETE FROM staff_user WHERE name = ?", arguments: [name])
            return db.changesCount
        }
    }

    /// Sets a new password: ends the account's sessions and clears its sign-in throttle; returns how many accounts changed.
    public func setPassword(name: String, passwordHash: String) async throws -> Int {
        try await dbWrite { db in
            try db.execute(sql: "UPDATE staff_user SET password_hash = ? WHERE name = ?", arguments: [passwordHash, name])
            let changed = db.changesCount
            try Self.deleteSessions(db, userNamed: name)
            try db.execute(sql: "DELETE FROM sign_in_throttle WHERE throttle_key = ?", arguments: [SignInThrottleKey.account(name)])
            return changed
        }
    }

    /// Replaces the stored hash of the same password (a stronger cost after sign-in); sessions stay.
    public func rehashPassword(userID: Int64, from old: String, to new: String) async throws {
        try await dbWrite { db in
            // Only if nobody changed the password meanwhile.
            try db.execute(sql: "UPDATE staff_user SET password_hash = ? WHERE id = ? AND password_hash = ?", arguments: [new, userID, old])
        }
    }

    static func deleteSessions(_ db: Database, userNamed name: String) throws {
        try db.execute(sql: "DELETE FROM web_session WHERE user_id IN (SELECT id FROM staff_user WHERE name = ?)", arguments: [name])
    }

    /// A new sign-in session; sessions expired by `now` (the deployment's clock, not the machine's) go at the same time.
    public func createSession(userID: Int64, hash: String, csrf: String, expires: Date, now: Date) async throws {
        try await dbWrite { db in
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at < ?", arguments: [now])
            try db.execute(sql: "INSERT INTO web_session (hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [hash, userID, csrf, expires])
        }
    }

    public func session(hash: String, now: Date) async throws -> (StaffIdentity, csrf: String)? {
        try await dbRead { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT u.name, u.role, u.officer_id, s.csrf FROM web_session s JOIN staff_user u ON u.id = s.user_id
                WHERE s.hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL
                """, arguments: [hash, now]), let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            return (StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"]), row["csrf"])
        }
    }

    public func deleteSession(hash: String) async throws {
        try await dbWrite { db in try db.execute(sql: "DELETE FROM web_session WHERE hash = ?", arguments: [hash]) }
    }

    /// An entry in the audit log; `target` and `detail` never hold a child's detail, a phone number or free text.
    @discardableResult
    public func audit(_ identity: StaffIdentity, action: String, target: String?, detail: String? = nil, now: Date) async throws -> Int64 {
        try await audit(actor: identity.name, role: identity.role.rawValue, action: action, target: target, detail: detail, now: now)
    }

    /// An entry for an actor that is no staff identity, such as `anonymous` for a failed sign-in.
    @discardableResult
    public func audit(actor: String, role: String, action: String, target: String?, detail: String?, now: Date) async throws -> Int64 {
        try await dbWrite { db in
            try db.execute(sql: "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [now, actor, role, action, target, detail])
            return db.lastInsertedRowID
        }
    }

    /// Completes an entry written before its outcome was known (a streamed export: its rows are counted at the end).
    public func completeAudit(_ id: Int64, detail: String) async throws {
        try await dbWrite { db in
            try db.execute(sql: "UPDATE audit_log SET detail = ? WHERE rowid = ?", arguments: [detail, id])
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        try await auditLog(AuditQuery(limit: limit))
    }

    /// The entries `query` asks for, newest first.
    public func auditLog(_ query: AuditQuery) async throws -> [AuditEntry] {
        try await dbRead { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let since = query.since { conditions.append("at >= ?"); arguments += [since] }
            if let until = query.until { conditions.append("at < ?"); arguments += [until] }
            if let actor = query.actor { conditions.append("actor = ?"); arguments += [actor] }
            if let action = query.action { conditions.append("action = ?"); arguments += [action] }
            if let before = query.before { conditions.append("id < ?"); arguments += [before] }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            arguments += [max(query.limit, 0)]
            return try AuditEntry.fetchAll(db, sql: "SELECT * FROM audit_log \(filter) ORDER BY id DESC LIMIT ?", arguments: arguments)
        }
    }

    // MARK: - Sign-in throttle

    /// The throttle records of `keys` (a key without failures to remember is absent).
    public func signInThrottles(_ keys: [String]) async throws -> [String: SignInThrottleRecord] {
        try await dbRead { db in try Self.throttles(db, keys) }
    }

    /// In one transaction: removes records whose last failure is older than `forgetBefore`, hands `update` the records
    /// of `keys` (absent when none), and writes back what it returns — a key of `keys` missing from its answer is deleted.
    public func updateSignInThrottles<Outcome: Sendable>(
        _ keys: [String], forgetBefore: Date,
        _ update: @escaping @Sendable ([String: SignInThrottleRecord]) -> (records: [String: SignInThrottleRecord], outcome: Outcome)
    ) async throws -> Outcome {
        try await dbWrite { db in
            try db.execute(sql: """
                DELETE FROM sign_in_throttle WHERE last_failure_at < ? AND (blocked_until IS NULL OR blocked_until < ?)
                """, arguments: [forgetBefore, forgetBefore])
            let (records, outcome) = update(try Self.throttles(db, keys))
            for key in keys {
                if let record = records[key] {
                    try db.execute(sql: """
                        INSERT INTO sign_in_throttle (throttle_key, failures, last_failure_at, blocked_until) VALUES (?, ?, ?, ?)
                        ON CONFLICT(throttle_key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                            blocked_until = excluded.blocked_until
                        """, arguments: [key, record.failures, record.lastFailureAt, record.blockedUntil])
                } else {
                    try db.execute(sql: "DELETE FROM sign_in_throttle WHERE throttle_key = ?", arguments: [key])
                }
            }
            return outcome
        }
    }

    static func throttles(_ db: Database, _ keys: [String]) throws -> [String: SignInThrottleRecord] {
        var records: [String: SignInThrottleRecord] = [:]
        for key in Set(keys) {
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM sign_in_throttle WHERE throttle_key = ?", arguments: [key]) else { continue }
            records[key] = SignInThrottleRecord(failures: row["failures"], lastFailureAt: row["last_failure_at"], blockedUntil: row["blocked_until"])
        }
        return records
    }
}
