import Foundation
import Logging
import NIOCore
import PostgresNIO
import Synchronization

/// ``SQLSession`` on one PostgreSQL connection, used from one thread at a time: each statement waits for its answer,
/// as GRDB's do, so the store's synchronous transactions run unchanged on either backend. (Never call it from an
/// event loop: ``PostgresBackend`` runs its sessions on threads of their own.)
final class PostgresSession: SQLSession {
    let connection: PostgresConnection
    let logger: Logger
    /// How long one statement may go unanswered before the connection is given up: past the server's own
    /// `statement_timeout` and `lock_timeout` (``PostgresBackend/serverTimeouts``), so only a server or network that
    /// stopped answering meets it.
    static let deadline: TimeAmount = .seconds(75)
    /// This session's: nil for migrations, which wait for another instance's and build indexes as long as it takes.
    var deadline: TimeAmount? = PostgresSession.deadline
    /// Set once a statement found the connection gone: every later one fails at once instead of waiting.
    private(set) var lost: SQLError?

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

    /// COMMIT; false when the server rolled the transaction back instead (it had failed).
    func commit() throws -> Bool {
        try run("COMMIT", []).metadata.command == "COMMIT"
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
        if let lost { throw lost }
        let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings)
        do {
            return try PostgresWait.result(of: connection.query(query, logger: logger), unlessClosed: connection, within: deadline)
        } catch let error as PSQLError {
            // Errors of the server going away (57P: shutdown, 08: connection) end the connection too.
            let state = error.serverInfo?[.sqlState] ?? ""
            let gone = error.code != .server || state.hasPrefix("57P") || state.hasPrefix("08")
            let failure = SQLError(error.serverInfo?[.message] ?? "\(error.code)", sql: sql, connectionLost: gone)
            if gone { lost = failure }
            throw failure
        } catch {
            let failure = SQLError("\(error)", sql: sql, connectionLost: true)
            lost = failure
            throw failure
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

/// Waiting on a thread for postgres-nio's answers, never without an end.
enum PostgresWait {
    struct Unanswered: Error, CustomStringConvertible {
        let after: TimeAmount
        var description: String { "no answer from PostgreSQL in \(after.nanoseconds / 1_000_000_000) s; the connection was given up" }
    }

    struct Closed: Error, CustomStringConvertible {
        var description: String { "the connection to PostgreSQL closed" }
    }

    /// `future`'s value, waited for on this thread (never an event loop), but given up when `connection` closes
    /// first or `timeout` (if any) passes. A statement whose connection the server closed as it stopped was seen waiting
    /// forever (its future never failed): under a webhook, that held the intake's batch, and every message after it,
    /// past the provider's timeout. Given up, the connection is closed (the statement goes with it).
    ///
    /// The waiting thread itself keeps the watch (a timed wait, waking each second), so a statement costs no timer on
    /// the event loop: each hop between threads is a wake-up, and a statement's wall time under the cluster's write
    /// lock is mostly wake-ups.
    static func result<Value: Sendable>(of future: EventLoopFuture<Value>, unlessClosed connection: PostgresConnection?,
                                        within timeout: TimeAmount?, late: @escaping @Sendable (Value) -> Void = { _ in }) throws -> Value {
        // Waiting on the future's own event loop would wait for itself.
        future.eventLoop.preconditionNotInEventLoop()
        let waiter = Waiter<Value>()
        future.whenComplete { result in
            if !waiter.settle(result), case .success(let value) = result { late(value) }
        }
        let started = NIODeadline.now()
        while true {
            if let result = waiter.result(waitingAtMost: 1) { return try result.get() }
            if connection?.isClosed == true {
                if waiter.abandon() { throw Closed() }
            } else if let timeout, NIODeadline.now() - started >= timeout {
                if waiter.abandon() {
                    connection?.close().whenComplete { _ in }
                    throw Unanswered(after: timeout)
                }
            }
        }
    }

    /// One answer, handed from the event loop to the waiting thread; or abandoned by it, the answer then arriving late.
    private final class Waiter<Value: Sendable>: @unchecked Sendable {
        private let condition = NSCondition()
        private var value: Result<Value, any Error>? // guarded by `condition`
        private var abandoned = false

        /// Hands over the answer; false when the waiter gave up first.
        func settle(_ result: Result<Value, any Error>) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard !abandoned else { return false }
            value = result
            condition.signal()
            return true
        }

        /// The answer, if it comes within `seconds`.
        func result(waitingAtMost seconds: Double) -> Result<Value, any Error>? {
            condition.lock()
            defer { condition.unlock() }
            if value == nil { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
            return value
        }

        /// Gives up waiting; false when the answer came meanwhile (then read it).
        func abandon() -> Bool {
            condition.lock()
            defer { condition.unlock() }
            guard value == nil else { return false }
            abandoned = true
            return true
        }
    }
}

/// Where tipline's PostgreSQL database is: `database.url` (`postgresql://user[:password]@host[:port]/database`),
/// the password from the URL or, better, from the environment or the secrets file.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    /// From `?sslmode=`, as libpq reads it: `prefer` (the default: TLS when the server offers it), `require` (TLS or
    /// refuse; the certificate unchecked), `verify-ca` (TLS with the certificate checked against the trusted
    /// authorities), `verify-full` (and the host name too) or `disable`.
    public var tls: String = "prefer"
    /// From `?sslrootcert=` (as libpq's): a PEM file of the authorities trusted for `verify-ca`/`verify-full` — a
    /// deployment's own CA — instead of the system's.
    public var rootCertificate: String?
    /// At most this many connections (and transactions) at once from this instance (`database.max_connections`).
    public var maxConnections = 32

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// `folder`: where a relative `sslrootcert` is found (the config file's folder); the working directory if nil.
    public init(url: String, password: String? = nil, relativeTo folder: String? = nil) throws {
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
        // An IPv6 address is written in brackets in a URL ([::1]); connected to without them.
        self.host = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.port = components.port ?? 5432
        self.username = user
        self.password = password ?? components.password
        self.database = name
        if let mode = components.queryItems?.first(where: { $0.name == "sslmode" })?.value {
            guard ["verify-full", "verify-ca", "require", "prefer", "disable"].contains(mode) else {
                throw Invalid(description: "sslmode=\(mode): give verify-full, verify-ca, require, prefer or disable")
            }
            tls = mode
        }
        let authorities = components.queryItems?.first(where: { $0.name == "sslrootcert" })?.value
        if authorities == "system" {
            // As libpq's: the system's authorities, which only verify-full makes safe (any public certificate would
            // pass verify-ca).
            guard tls == "verify-full" else {
                throw Invalid(description: "sslrootcert=system trusts every public authority: give sslmode=verify-full with it")
            }
        } else if var file = authorities, !file.isEmpty {
            if !file.hasPrefix("/"), let folder {
                file = URL(fileURLWithPath: folder).appendingPathComponent(file).standardizedFileURL.path
            }
            guard tls == "verify-full" || tls == "verify-ca" else {
                throw Invalid(description: "sslrootcert is used only to check the server: give sslmode=verify-full (or verify-ca) with it")
            }
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw Invalid(description: "sslrootcert=\(file): no readable file there (a PEM file of the authorities to trust)")
            }
            rootCertificate = file
        }
        // verify-ca against the system's authorities would take any publicly issued certificate (one for an
        // attacker's own domain) with no name to check: as libpq, it needs the deployment's own CA file.
        if tls == "verify-ca", rootCertificate == nil {
            throw Invalid(description: "sslmode=verify-ca checks the certificate against a CA file: give sslrootcert=/path/ca.pem (or use verify-full)")
        }
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String { "postgresql://\(username)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" }

    /// Printed, a location never shows its password.
    public var description: String { redacted }
}
