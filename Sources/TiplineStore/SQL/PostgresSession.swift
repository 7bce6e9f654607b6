import Foundation
import Logging
import NIOCore
import PostgresNIO

/// ``SQLSession`` on one PostgreSQL connection, used from one thread at a time: each statement waits for its answer,
/// as GRDB's do, so the store's synchronous transactions run unchanged on either backend. (Never call it from an
/// event loop: ``PostgresBackend`` runs its sessions on threads of their own.)
final class PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var dialect: SQLDialect { .postgresql }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        let result = try run(sql, arguments)
        guard let first = result.rows.first else { return [] }
        let layout = SQLColumns(first.map(\.columnName))
        return try result.rows.map { row in SQLRow(layout: layout, values: try row.map(Self.value)) }
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            // Milliseconds, as SQLite keeps them: the same instant on both backends, equal when compared.
            // (Through whole microseconds first: 0.123 s is 0.12299… in binary, and would lose its millisecond.)
            case .date(let date): bindings.append(Date(timeIntervalSince1970: ((date.timeIntervalSince1970 * 1_000_000).rounded() / 1000).rounded(.down) / 1000))
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings)
        do {
            return try connection.query(query, logger: logger).wait()
        } catch let error as PSQLError {
            throw SQLError(error.serverInfo?[.message] ?? "\(error.code)", sql: sql, connectionLost: error.code != .server)
        } catch {
            throw SQLError("\(error)", sql: sql, connectionLost: true)
        }
    }

    /// `?` placeholders numbered `$1`, `$2`, … (not inside quoted strings or identifiers).
    static func numbered(_ sql: String) -> String {
        guard sql.utf8.contains(UInt8(ascii: "?")) else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quote: Character?
        for character in sql {
            if let open = quote {
                if character == open { quote = nil }
                result.append(character)
            } else if character == "'" || character == "\"" {
                quote = character
                result.append(character)
            } else if character == "?" {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    /// A result cell as the store reads it: integers and booleans as integers, times as dates.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric: return .real(Double(try cell.decode(String.self)) ?? 0)
        case .timestamptz, .timestamp: return .date(try cell.decode(Date.self))
        case .bytea: return .blob(Array(buffer: try cell.decode(ByteBuffer.self)))
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// Where tipline's PostgreSQL database is: `database.url` (`postgresql://user[:password]@host[:port]/database`),
/// the password from the URL or, better, from the environment or the secrets file.
public struct PostgresLocation: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// From `?sslmode=`, as libpq reads it: `prefer` (the default: TLS when the server offers it), `require` (TLS or
    /// refuse; the certificate unchecked), `verify-full` (TLS with the certificate checked against the system's CAs
    /// and the host name) or `disable`.
    public var tls: String = "prefer"

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(url: String, password: String? = nil) throws {
        guard let components = URLComponents(string: url), let scheme = components.scheme else {
            throw Invalid(description: "not a URL: give postgresql://user@host:port/database")
        }
        guard scheme == "postgresql" || scheme == "postgres" else {
            throw Invalid(description: "the scheme is '\(scheme)': give postgresql://user@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else { throw Invalid(description: "no host: give postgresql://user@host:port/database") }
        guard let user = components.user, !user.isEmpty else { throw Invalid(description: "no user name: give postgresql://user@\(host)/database") }
        let name = String(components.path.drop { $0 == "/" })
        guard !name.isEmpty, !name.contains("/") else { throw Invalid(description: "no database name: give postgresql://\(user)@\(host)/database") }
        self.host = host
        self.port = components.port ?? 5432
        self.username = user
        self.password = password ?? components.password
        self.database = name
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard ["verify-full", "require", "prefer", "disable"].contains(mode) else {
                throw Invalid(description: "sslmode=\(mode): give verify-full, require, prefer or disable")
            }
            tls = mode
        }
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String { "postgresql://\(username)@\(host):\(port)/\(database)" }
}
