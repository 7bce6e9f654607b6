import Foundation

/// Which SQL the database speaks, for the few statements the two backends cannot share (full-text search, the
/// schema's column types, locks).
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgresql
}

/// The statements of one transaction (or one read), on either backend: what the store's code is written against,
/// so that a statement is written once for SQLite and PostgreSQL alike.
///
/// Statements use `?` placeholders (a PostgreSQL session numbers them), 0 and 1 for flags (integers in both
/// schemas: never `TRUE`/`FALSE`, which PostgreSQL will not compare with an integer), `ON CONFLICT … DO …` for
/// upserts, `RETURNING` for generated keys and `COALESCE`, not `IFNULL`: the subset of SQL that SQLite 3.35+ and
/// PostgreSQL 15 share. What only one of them has (`PRAGMA`, FTS5, date functions) is behind a `dialect` switch.
public protocol SQLSession {
    var dialect: SQLDialect { get }
    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Runs a query; returns its rows.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
}

extension SQLSession {
    @discardableResult
    public func execute(_ sql: String, _ arguments: any SQLBindable...) throws -> Int {
        try execute(sql, arguments.map(\.sqlValue))
    }

    public func rows(_ sql: String, _ arguments: any SQLBindable...) throws -> [SQLRow] {
        try rows(sql, arguments.map(\.sqlValue))
    }

    /// The first row, if any.
    public func row(_ sql: String, _ arguments: any SQLBindable...) throws -> SQLRow? {
        try rows(sql, arguments.map(\.sqlValue)).first
    }

    /// The first column of the first row (`.null` when there is no row).
    public func value(_ sql: String, _ arguments: any SQLBindable...) throws -> SQLValue {
        try rows(sql, arguments.map(\.sqlValue)).first?.values.first ?? .null
    }
}

/// A statement the database refused, with the backend's own message.
public struct SQLError: Error, CustomStringConvertible {
    public let message: String
    public let sql: String?
    /// The connection broke (the server went away), rather than the server refusing the statement: the connection
    /// is not used again.
    public let connectionLost: Bool

    public init(_ message: String, sql: String? = nil, connectionLost: Bool = false) {
        self.message = message
        self.sql = sql
        self.connectionLost = connectionLost
    }

    public var description: String {
        sql.map { "\(message) (in: \($0.prefix(200)))" } ?? message
    }
}
