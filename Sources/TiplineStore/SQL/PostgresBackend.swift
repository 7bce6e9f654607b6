import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO
import Synchronization

/// tipline's PostgreSQL database, for deployments of several instances on one database (issue 16).
///
/// Transactions run on threads of their own, one connection each, their statements waiting for answers
/// (``PostgresSession``), so the store's synchronous transaction code runs on PostgreSQL as it does on SQLite.
///
/// **Writes are serialized across the cluster**: each write transaction first takes one transaction-scoped advisory
/// lock, so every instance's writes see each other's as SQLite's single writer does (the check-then-insert rules —
/// one report per provider message, one open case per child, one group warning a week — hold across instances
/// without each needing a lock of its own). Reads take no lock.
public final class PostgresBackend: Sendable {
    public let location: PostgresLocation
    let logger: Logger
    private let idle = Mutex<[PostgresConnection]>([])
    private let maxIdle: Int
    /// At most this many transactions at once, each a thread and a connection: more wait their turn here, without a
    /// thread, so a burst cannot open connections past the server's `max_connections` or threads past the machine's.
    private let slots: Slots
    private static let ids = Atomic<Int>(0)

    /// The advisory lock every write transaction takes (`pg_advisory_xact_lock`), and the one migrations take.
    static let writeLock: Int64 = 0x7469_706C_696E_6501 // "tipline" 01
    static let migrationLock: Int64 = 0x7469_706C_696E_6502

    /// Set on every connection as it opens, so that nothing waits without end: an instance that stalls holding the
    /// cluster's write lock (a cut network, a paused machine) is cut off by the server, and the others stop waiting
    /// for the lock after a while (their webhooks answer 503; providers retry) rather than hanging.
    /// (`idle_session_timeout`: a connection kept idle is closed by the server after 4 minutes — before a NAT or a
    /// load balancer forgets it silently, which would cost the next transaction on it a whole deadline.)
    static let serverTimeouts = [("lock_timeout", "15s"), ("statement_timeout", "60s"), ("idle_in_transaction_session_timeout", "60s"),
                                 ("idle_session_timeout", "240s")]
    /// The backstop of opening a connection (TCP, TLS, start-up, password), which ``connectTimeout`` ends first.
    static let connectDeadline: TimeAmount = .seconds(10)

    /// Connections are kept once opened, up to `database.max_connections`: each new one is a new server process
    /// (a fork, its caches warmed again), which under load cost the server more than the statements did.
    public init(_ location: PostgresLocation, maxIdleConnections: Int? = nil, logger: Logger = Logger(label: "tipline.postgres")) {
        self.location = location
        self.maxIdle = min(maxIdleConnections ?? location.maxConnections, location.maxConnections)
        self.slots = Slots(location.maxConnections)
        // postgres-nio logs rows at trace level: never below notice here, whatever LOG_LEVEL says.
        var logger = logger
        if logger.logLevel < .notice { logger.logLevel = .notice }
        self.logger = logger
    }

    /// A write transaction, serialized with every other instance's (see the type's note).
    @discardableResult
    public func write<T: Sendable>(_ work: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await onThread {
            try self.withConnection { session in
                try self.transaction(session) {
                    try session.execute("SELECT pg_advisory_xact_lock(?)", Self.writeLock)
                    return try work(session)
                }
            }
        }
    }

    /// Whether the database answers and is a primary (a standby refuses writes), for readiness: asked outside the
    /// transactions' turn (``Slots``), so a busy instance is not reported down, and without the write lock.
    public func isPrimary() async throws -> Bool {
        try await onThread(slotted: false) {
            try self.withConnection { session in
                try session.value("SELECT CASE WHEN pg_is_in_recovery() THEN 0 ELSE 1 END").int == 1
            }
        }
    }

    /// A read: one snapshot for the whole closure (`REPEATABLE READ, READ ONLY`).
    public func read<T: Sendable>(_ work: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        try await onThread {
            try self.withConnection { session in
                try self.transaction(session, begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try work(session) }
            }
        }
    }

    /// Work outside any transaction, on one connection (migrations and their session-scoped lock).
    @discardableResult
    func session<T: Sendable>(_ work: @escaping @Sendable (PostgresSession) throws -> T) async throws -> T {
        try await onThread { try self.withConnection(work) }
    }

    deinit {
        // Connections must be closed before they go (postgres-nio asserts it): close what is left idle.
        for connection in idle.withLock({ $0 }) { connection.close().whenComplete { [connection] _ in _ = connection } }
    }

    /// A new, empty database on the server `url` names (its role must have CREATEDB), for test suites and load runs;
    /// returns the URL of the new database. The name is `prefix` and random letters.
    public static func makeScratchDatabase(from url: String, prefix: String = "tipline_scratch") async throws -> String {
        let location = try PostgresLocation(url: url)
        let name = prefix + "_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        guard name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw SQLError("'\(name)' is not a plain database name")
        }
        let admin = PostgresBackend(location)
        defer { Task { await admin.close() } }
        try await admin.session { session in try session.execute("CREATE DATABASE \(name)") }
        guard var components = URLComponents(string: url) else { throw SQLError("not a URL") }
        components.path = "/" + name
        return components.string ?? url
    }

    /// For test suites run on PostgreSQL (`TIPLINE_TEST_BACKEND=postgresql`, scripts/test's second pass): a fresh
    /// database on the test cluster (`TIPLINE_TEST_POSTGRES_URL`) for each deployment a test makes; nil on SQLite.
    public static func scratchDatabaseForTests(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> String? {
        guard environment["TIPLINE_TEST_BACKEND"] == "postgresql" else { return nil }
        guard let url = environment["TIPLINE_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw SQLError("TIPLINE_TEST_BACKEND=postgresql needs TIPLINE_TEST_POSTGRES_URL (scripts/postgres start prints one)")
        }
        return try await makeScratchDatabase(from: url, prefix: "tipline_test")
    }

    /// Closes the idle connections.
    public func close() async {
        let connections = idle.withLock { idle -> [PostgresConnection] in
            defer { idle.removeAll() }
            return idle
        }
        for connection in connections { try? await connection.close() }
    }

    private func transaction<T>(_ session: PostgresSession, begin: String = "BEGIN", _ work: () throws -> T) throws -> T {
        try session.execute(begin)
        do {
            let value = try work()
            // A transaction that met an error PostgreSQL did not forgive answers COMMIT with ROLLBACK: never take that
            // for a commit (a webhook would be answered 200 for a message not stored).
            guard try session.commit() else { throw SQLError("the transaction was rolled back by the server instead of committed") }
            return value
        } catch {
            if !session.connection.isClosed, (error as? SQLError)?.connectionLost != true { _ = try? session.execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `work` on a session of an idle connection (or a new one), returning the connection to the idle list
    /// unless it broke.
    private func withConnection<T>(_ work: (PostgresSession) throws -> T) throws -> T {
        var connection = idle.withLock { idle in idle.popLast() }
        if connection?.isClosed ?? false { connection = nil }
        let open = try connection ?? connect()
        let session = PostgresSession(open, logger: logger)
        let value: T
        do {
            value = try work(session)
        } catch {
            // A connection the server dropped (a restart, a network cut) is closed, not kept: the next transaction
            // connects again, so the database coming back is noticed at once.
            if (error as? SQLError)?.connectionLost == true || session.lost != nil {
                open.close().whenComplete { [open] _ in _ = open }
                // The idle ones are most likely gone the same way (the server restarted, the network cut): dropped too,
                // so that no later transaction spends a deadline finding out.
                dropIdle()
            } else {
                recycle(open)
            }
            throw error
        }
        // A lost connection whose error the work swallowed (a `try?` in a clean-up) is not kept either.
        if session.lost != nil {
            open.close().whenComplete { [open] _ in _ = open }
            dropIdle()
        } else {
            recycle(open)
        }
        return value
    }

    private func dropIdle() {
        let connections = idle.withLock { idle -> [PostgresConnection] in
            defer { idle.removeAll() }
            return idle
        }
        for connection in connections { connection.close().whenComplete { [connection] _ in _ = connection } }
    }

    private func recycle(_ connection: PostgresConnection) {
        guard !connection.isClosed else { return }
        let kept = idle.withLock { idle -> Bool in
            guard idle.count < maxIdle else { return false }
            idle.append(connection)
            return true
        }
        if !kept { connection.close().whenComplete { [connection] _ in _ = connection } } // kept alive until closed
    }

    private func connect() throws -> PostgresConnection {
        let tls: PostgresConnection.Configuration.TLS
        // As libpq: `prefer` and `require` encrypt without checking the server's certificate (a stock server's is
        // self-signed); `verify-full` checks it against the system's CAs and the host name.
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch location.tls {
        case "disable": tls = .disable
        case "require": tls = .require(try NIOSSLContext(configuration: unverified))
        case "verify-full", "verify-ca":
            var verified = TLSConfiguration.makeClientConfiguration()
            // verify-ca: the chain only (a server reached by an address its certificate does not name).
            verified.certificateVerification = location.tls == "verify-full" ? .fullVerification : .noHostnameVerification
            if let file = location.rootCertificate { verified.trustRoots = .file(file) }
            tls = .require(try NIOSSLContext(configuration: verified))
        default: tls = .prefer(try NIOSSLContext(configuration: unverified))
        }
        // One deadline for the whole opening: TCP, TLS and the sign-in (a webhook waiting for it answers 503 in time).
        let deadline = NIODeadline.now() + Self.connectTimeout
        var socket: (any Channel)?
        do {
            // The socket is ours (postgres-nio sets no socket options): TCP keepalive and a user timeout on it.
            let connected = try PostgresWait.result(of: Self.connectSocket(host: location.host, port: location.port, deadline: deadline),
                                                    unlessClosed: nil, within: Self.connectDeadline) { late in late.close(promise: nil) }
            socket = connected
            var configuration = PostgresConnection.Configuration(establishedChannel: connected, tls: tls, username: location.username,
                                                                 password: location.password, database: location.database)
            // As postgres-nio does for a host it connects to itself: the name for SNI and verify-full, never an address.
            configuration.options.tlsServerName = Self.isAddress(location.host) ? nil : location.host
            configuration.options.connectTimeout = .nanoseconds(max(1, (deadline - .now()).nanoseconds))
            configuration.options.additionalStartupParameters = Self.serverTimeouts
            let id = Self.ids.wrappingAdd(1, ordering: .relaxed).oldValue
            let opening = PostgresConnection.connect(on: connected.eventLoop, configuration: configuration, id: id, logger: logger)
            // A server that accepts and then says nothing is given up by postgres-nio at `connectTimeout` (what is
            // left of the deadline), which closes the socket; `connectDeadline` is only the backstop.
            return try PostgresWait.result(of: opening, unlessClosed: nil, within: Self.connectDeadline) { late in late.close().whenComplete { _ in } }
        } catch let error as PSQLError {
            socket?.close(promise: nil)
            let reason = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
            // The server's own refusal (user, password, database) is not an outage.
            throw SQLError("cannot connect to \(location.redacted): \(reason)", connectionLost: error.code != .server)
        } catch {
            socket?.close(promise: nil)
            throw SQLError("cannot connect to \(location.redacted): \(error)", connectionLost: true)
        }
    }

    /// Opening a connection (TCP, TLS, sign-in) takes at most this long.
    static let connectTimeout: TimeAmount = .seconds(5)

    /// A connection's socket, connected by `deadline` (every address of the host in turn), with TCP keepalive and a
    /// user timeout: a pooled connection to a database host that vanished — powered off, its address moved by a
    /// failover, a NAT's entry forgotten — is found dead and closed after about 15 + 3 × 5 s idle, and a statement
    /// sent into such a silence fails after 30 s unacknowledged, not at the 75 s statement deadline. An option the
    /// kernel refuses (a sandbox) is left unset rather than failing the connection.
    static func connectSocket(host: String, port: Int, deadline: NIODeadline) -> EventLoopFuture<any Channel> {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(max(.milliseconds(1), deadline - .now()))
            .connect(host: host, port: port)
            .flatMap { channel in
                let options: [EventLoopFuture<Void>] = Self.socketOptions.map { option, value in
                    channel.setOption(option, value: value)
                }
                return EventLoopFuture.andAllComplete(options, on: channel.eventLoop).map { channel }
            }
    }

    /// Keepalive probes after 15 s of silence, every 5 s; three unanswered close the connection. On Linux the user
    /// timeout (30 s) bounds both that and data never acknowledged.
    static let keepalive = (idle: 15, interval: 5, count: 3, userTimeoutMilliseconds: 30_000)

    private static var socketOptions: [(ChannelOptions.Types.SocketOption, ChannelOptions.Types.SocketOption.Value)] {
        // (TCP_NODELAY is ClientBootstrap's own default.)
        var options: [(ChannelOptions.Types.SocketOption, ChannelOptions.Types.SocketOption.Value)] = [
            (ChannelOptions.Types.SocketOption(level: .socket, name: .so_keepalive), 1),
        ]
        #if os(Linux)
        let tcp = SocketOptionLevel(IPPROTO_TCP)
        options += [(ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPIDLE), keepalive.idle),
                    (ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPINTVL), keepalive.interval),
                    (ChannelOptions.Types.SocketOption(level: tcp, name: TCP_KEEPCNT), keepalive.count),
                    (ChannelOptions.Types.SocketOption(level: tcp, name: TCP_USER_TIMEOUT), keepalive.userTimeoutMilliseconds)]
        #endif
        return options
    }

    /// An IPv4 or IPv6 address rather than a name (not valid for SNI; verify-full then checks the address).
    static func isAddress(_ host: String) -> Bool {
        var v4 = in_addr(), v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// How long a transaction waits for its turn (``Slots``) before it fails (a webhook then answers 503): longer
    /// than a provider waits for an answer, so only a stalled database meets it.
    static let turnDeadline: Duration = .seconds(20)

    /// Blocking work on a thread of its own, never on the cooperative pool or an event loop, once a slot is free.
    private func onThread<T: Sendable>(slotted: Bool = true, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        if slotted { try await slots.take(within: Self.turnDeadline) }
        defer { if slotted { slots.give() } }
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try work() }) }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// This instance's transactions now: running, waiting their turn, the limit, and how many waited in vain since
    /// it started (for `/metrics`).
    public var turns: Turns { slots.turns }

    public struct Turns: Sendable, Equatable {
        public var running: Int
        public var waiting: Int
        public var limit: Int
        public var timedOut: Int
    }

    /// A counting semaphore whose waiters are suspended tasks, first come first served; a wait has a deadline.
    final class Slots: Sendable {
        private struct State {
            var free: Int
            var waiting: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
            var nextID = 0
            var timedOut = 0
        }

        var turns: Turns {
            state.withLock { Turns(running: count - $0.free, waiting: $0.waiting.count, limit: count, timedOut: $0.timedOut) }
        }

        private let state: Mutex<State>
        let count: Int

        init(_ count: Int) {
            self.count = max(1, count)
            state = Mutex(State(free: max(1, count)))
        }

        func take(within deadline: Duration) async throws {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let waiting = state.withLock { state -> Int? in
                    if state.free > 0 {
                        state.free -= 1
                        return nil
                    }
                    state.nextID += 1
                    state.waiting.append((state.nextID, continuation))
                    return state.nextID
                }
                guard let waiting else { return continuation.resume() }
                Task {
                    try? await Task.sleep(for: deadline)
                    let expired = self.state.withLock { state -> CheckedContinuation<Void, any Error>? in
                        guard let index = state.waiting.firstIndex(where: { $0.id == waiting }) else { return nil }
                        state.timedOut += 1
                        return state.waiting.remove(at: index).continuation
                    }
                    expired?.resume(throwing: SQLError("all \(self.count) database connections were busy for \(deadline); try again"))
                }
            }
        }

        func give() {
            let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                if state.waiting.isEmpty {
                    state.free += 1
                    return nil
                }
                return state.waiting.removeFirst().continuation
            }
            next?.resume() // the slot passes to the first waiter
        }
    }
}
