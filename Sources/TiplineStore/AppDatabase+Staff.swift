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

public struct AuditEntry: Codable, Sendable, Equatable, FetchableRecord {
    public var id: Int64
    public var at: Date
    public var actor: String
    public var role: String
    public var action: String
    public var target: String?
    public var detail: String?
}

// MARK: - Tokens, users, sessions, audit

extension AppDatabase {
    public func insertToken(name: String, role: StaffIdentity.Role, officerID: String?, hash: String, now: Date) async throws -> Int64 {
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO api_token (name, role, officer_id, hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, role.rawValue, officerID, hash, now])
            return db.lastInsertedRowID
        }
    }

    public func tokens() async throws -> [APITokenRecord] {
        try await reader.read { db in
            try APITokenRecord.fetchAll(db, sql: "SELECT id, name, role, officer_id, created_at, revoked_at, last_used_at FROM api_token ORDER BY id")
        }
    }

    /// Revokes a token by id or name; returns how many.
    public func revokeToken(_ idOrName: String, now: Date) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "UPDATE api_token SET revoked_at = ? WHERE revoked_at IS NULL AND (CAST(id AS TEXT) = ? OR name = ?)",
                           arguments: [now, idOrName, idOrName])
            return db.changesCount
        }
    }

    public func identity(forTokenHash hash: String) async throws -> StaffIdentity? {
        try await reader.read { db in
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
        public var failedAttempts: Int
        public var lockedUntil: Date?
    }

    public func insertUser(name: String, role: StaffIdentity.Role, officerID: String?, passwordHash: String, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO staff_user (name, role, officer_id, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                           arguments: [name, role.rawValue, officerID, passwordHash, now])
        }
    }

    public func user(named name: String) async throws -> StaffUser? {
        try await reader.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM staff_user WHERE name = ?", arguments: [name]),
                  let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            return StaffUser(id: row["id"], identity: StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"]),
                             passwordHash: row["password_hash"], failedAttempts: row["failed_attempts"], lockedUntil: row["locked_until"])
        }
    }

    public func users() async throws -> [StaffUser] {
        try await reader.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM staff_user ORDER BY name").compactMap { row in
                guard let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
                return StaffUser(id: row["id"], identity: StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"]),
                                 passwordHash: row["password_hash"], failedAttempts: row["failed_attempts"], lockedUntil: row["locked_until"])
            }
        }
    }

    /// Counts a failed sign-in; locks the account for `lockFor` after `maxAttempts`.
    public func recordFailedSignIn(userID: Int64, maxAttempts: Int, lockFor: TimeInterval, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                UPDATE staff_user SET failed_attempts = failed_attempts + 1,
                    locked_until = CASE WHEN failed_attempts + 1 >= ? THEN ? ELSE locked_until END WHERE id = ?
                """, arguments: [maxAttempts, now.addingTimeInterval(lockFor), userID])
        }
    }

    public func unlockUser(name: String) async throws -> Int {
        try await writer.write { db in
            try db.execute(sql: "UPDATE staff_user SET failed_attempts = 0, locked_until = NULL WHERE name = ?", arguments: [name])
            return db.changesCount
        }
    }

    public func createSession(userID: Int64, hash: String, csrf: String, expires: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "UPDATE staff_user SET failed_attempts = 0, locked_until = NULL WHERE id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at < ?", arguments: [Date()])
            try db.execute(sql: "INSERT INTO web_session (hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)",
                           arguments: [hash, userID, csrf, expires])
        }
    }

    public func session(hash: String, now: Date) async throws -> (StaffIdentity, csrf: String)? {
        try await reader.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT u.name, u.role, u.officer_id, s.csrf FROM web_session s JOIN staff_user u ON u.id = s.user_id
                WHERE s.hash = ? AND s.expires_at > ?
                """, arguments: [hash, now]), let role = StaffIdentity.Role(rawValue: row["role"]) else { return nil }
            return (StaffIdentity(name: row["name"], role: role, officerID: row["officer_id"]), row["csrf"])
        }
    }

    public func deleteSession(hash: String) async throws {
        try await writer.write { db in try db.execute(sql: "DELETE FROM web_session WHERE hash = ?", arguments: [hash]) }
    }

    public func audit(_ identity: StaffIdentity, action: String, target: String?, detail: String? = nil, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [now, identity.name, identity.role.rawValue, action, target, detail])
        }
    }

    public func auditLog(limit: Int) async throws -> [AuditEntry] {
        try await reader.read { db in
            try AuditEntry.fetchAll(db, sql: "SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }
}
