import Foundation
import GRDB
import TiplineCore

/// The one entry point to tipline's database — an embedded SQLite file, or PostgreSQL for several instances
/// (issue 16) — and owner of the schema's migrations.
///
/// SQLite is opened on a file as a `DatabasePool` in WAL mode, with `synchronous = FULL` so that a message
/// acknowledged to a provider survives a power cut; tests open an empty database the same way in a temporary folder.
/// The store's statements run on either through ``SQLSession`` (`sqlRead`, `sqlWrite`); callers do not know which.
public struct AppDatabase: Sendable {
    enum Backend: Sendable {
        case sqlite(any DatabaseWriter)
        case postgres(PostgresBackend)
    }

    let backend: Backend
    /// Seals personal values before they are written and opens them when read (``FieldCipher``).
    public let cipher: FieldCipher

    public init(_ writer: any DatabaseWriter, cipher: FieldCipher = .plaintext) throws {
        self.backend = .sqlite(writer)
        self.cipher = cipher
        try Self.migrator.migrate(writer)
    }

    private init(postgres: PostgresBackend, cipher: FieldCipher) {
        self.backend = .postgres(postgres)
        self.cipher = cipher
    }

    /// Connects to a PostgreSQL database and brings its schema up to date (once for the whole cluster).
    public static func open(postgres location: PostgresLocation, cipher: FieldCipher = .plaintext) async throws -> AppDatabase {
        let backend = PostgresBackend(location)
        try await backend.migrate()
        return AppDatabase(postgres: backend, cipher: cipher)
    }

    /// Which database this is.
    public var dialect: SQLDialect {
        switch backend {
        case .sqlite: .sqlite
        case .postgres: .postgresql
        }
    }

    /// The SQLite database, for SQLite-only maintenance and tests. A PostgreSQL deployment has none: reaching for it
    /// there is a programming error.
    public var writer: any DatabaseWriter {
        guard case .sqlite(let writer) = backend else { preconditionFailure("a PostgreSQL database has no SQLite writer") }
        return writer
    }

    /// A read with this database's cipher bound (records open their sealed columns). For the store, tools and tests:
    /// the server never sees a `Database`.
    public func dbRead<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await reader.read { [cipher] db in try cipher.bind { try work(db) } }
    }

    /// A write transaction with this database's cipher bound (records seal their personal columns).
    public func dbWrite<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.write { [cipher] db in try cipher.bind { try work(db) } }
    }

    /// A read on whichever backend this database is (``SQLSession``), with the cipher bound: what the store's code is
    /// written against (issue 16: every statement once, for SQLite and PostgreSQL).
    @discardableResult
    public func sqlRead<T: Sendable>(_ work: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let writer): try await writer.read { [cipher] db in try cipher.bind { try work(SQLiteSession(db)) } }
        case .postgres(let postgres): try await postgres.read { [cipher] session in try cipher.bind { try work(session) } }
        }
    }

    /// A write transaction on whichever backend this database is, with the cipher bound (SQLite: `BEGIN IMMEDIATE`;
    /// PostgreSQL: serialized with every instance's writes).
    @discardableResult
    public func sqlWrite<T: Sendable>(_ work: @escaping @Sendable (any SQLSession) throws -> T) async throws -> T {
        switch backend {
        case .sqlite(let writer):
            try await writer.writeWithoutTransaction { [cipher] db in
                var value: T?
                try db.inTransaction(.immediate) {
                    value = try cipher.bind { try work(SQLiteSession(db)) }
                    return .commit
                }
                return value!
            }
        case .postgres(let postgres):
            try await postgres.write { [cipher] session in try cipher.bind { try work(session) } }
        }
    }

    /// Closes a PostgreSQL database's connections (SQLite closes with its last reference).
    public func close() async {
        if case .postgres(let postgres) = backend { await postgres.close() }
    }

    /// PostgreSQL's transactions of this instance (running, waiting their turn, the limit); nil on SQLite.
    public var turns: PostgresBackend.Turns? {
        if case .postgres(let postgres) = backend { return postgres.turns }
        return nil
    }

    /// Runs `body` with this database, then closes it, whether `body` throws or not (a command's run, a test's).
    public func closing<T>(after body: (AppDatabase) async throws -> T) async throws -> T {
        let value: T
        do {
            value = try await body(self)
        } catch {
            await close()
            throw error
        }
        await close()
        return value
    }

    func dbWriteWithoutTransaction<T: Sendable>(_ work: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await writer.writeWithoutTransaction { [cipher] db in try cipher.bind { try work(db) } }
    }

    /// Opens (creating when needed) the database at `path`, with its folder.
    public static func open(path: String, durable: Bool = true, cipher: FieldCipher = .plaintext) throws -> AppDatabase {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // A larger page cache and memory-mapped reads: index lookups on the intake path stop costing read() calls.
            // The writer keeps 32 MiB of pages; each reader 4 MiB (its reads go through the memory map): at a
            // million reports, 32 MiB for each of the pool's connections made the daemon's heap grow past 150 MiB.
            try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -4096" : "PRAGMA cache_size = -32768")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        // DatabasePool sets synchronous = NORMAL on its writer after prepareDatabase: set ours afterwards.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        }
        try pool.writeWithoutTransaction { db in
            // Erased values are overwritten on disk, not left in free pages.
            try db.execute(sql: "PRAGMA secure_delete = ON")
        }
        let database = try AppDatabase(pool, cipher: cipher)
        try database.refuseNewerSchema()
        return database
    }

    /// An in-memory database, for tests that do not need a file.
    public static func inMemory(cipher: FieldCipher = .plaintext) throws -> AppDatabase {
        try AppDatabase(DatabaseQueue(), cipher: cipher)
    }

    public var reader: any DatabaseReader { writer }

    /// The newest migration this binary knows.
    public static var knownMigrations: [String] { migrator.migrations }

    public struct SchemaError: Error, CustomStringConvertible {
        public let unknown: [String]
        public var description: String {
            "the database was written by a newer tipline (unknown migrations: \(unknown.joined(separator: ", "))); run that version or restore a backup"
        }
    }

    func refuseNewerSchema() throws {
        let applied = try writer.read { db in try Self.migrator.appliedIdentifiers(db) }
        let unknown = applied.subtracting(Self.migrator.migrations)
        if !unknown.isEmpty { throw SchemaError(unknown: unknown.sorted()) }
    }

    // MARK: - Schema

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "inbound_message") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("channel", .text).notNull()
                t.column("provider_message_id", .text).notNull()
                t.column("sender", .text).notNull()
                t.column("recipient", .text)
                t.column("body", .text)
                t.column("received_at", .datetime).notNull()
                t.column("via", .text).notNull().defaults(to: "sms")
                t.column("report_number", .integer)
                t.uniqueKey(["channel", "provider_message_id"])
            }
            try db.create(table: "report") { t in
                t.column("number", .integer).primaryKey(autoincrement: true)
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull()
                t.column("urgent", .boolean).notNull().defaults(to: false)
                t.column("channel", .text).notNull()
                t.column("via", .text).notNull().defaults(to: "sms")
                t.column("reporter", .text)
                t.column("text", .text)
                t.column("received_at", .datetime).notNull()
                t.column("area_code", .text).indexed()
                t.column("province_code", .text)
                t.column("language", .text).notNull().defaults(to: "vi")
                t.column("parsed", .jsonText).notNull()
                t.column("search_key", .text)
                t.column("assigned_to", .text)
                t.column("acknowledged_at", .datetime)
                t.column("closed_at", .datetime)
                t.column("result", .text)
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "report_received", on: "report", columns: ["received_at"])
            // Report numbers start at 1001: short enough to type on a basic phone.
            try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('report', 1000)")

            try db.create(table: "report_event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("report_number", .integer).notNull().indexed().references("report", onDelete: .cascade)
                t.column("at", .datetime).notNull()
                t.column("kind", .text).notNull()
                t.column("actor", .text)
                t.column("detail", .text)
            }
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("channel", .text).notNull()
                t.column("recipient", .text).notNull()
                t.column("body", .text).notNull()
                t.column("purpose", .text).notNull()
                t.column("report_number", .integer).indexed()
                t.column("state", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("next_attempt_at", .datetime).notNull()
                t.column("provider_message_id", .text)
                t.column("last_error", .text)
                t.column("encoding", .text).notNull()
                t.column("segments", .integer).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("sent_at", .datetime)
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "outbox_due", on: "outbox", columns: ["state", "next_attempt_at"])
            try db.create(index: "outbox_provider_id", on: "outbox", columns: ["channel", "provider_message_id"])
            try db.create(table: "duty_override") { t in
                t.primaryKey("officer_id", .text)
                t.column("on_duty", .boolean).notNull()
                t.column("until", .datetime).notNull()
            }
            try db.create(table: "opt_out") { t in
                t.primaryKey("phone", .text)
                t.column("at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v2: channel log, message parts, early delivery reports") { db in
            try db.create(table: "channel_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull().indexed()
                t.column("channel", .text).notNull()
                t.column("direction", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .integer)
                t.column("latency_ms", .double)
                t.column("error", .text)
            }
            try db.create(table: "inbound_part") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("channel", .text).notNull()
                t.column("sender", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("total", .integer).notNull()
                t.column("number", .integer).notNull()
                t.column("text", .text).notNull()
                t.column("received_at", .datetime).notNull()
                t.uniqueKey(["channel", "sender", "reference", "number"])
            }
            try db.create(table: "pending_delivery_report") { t in
                t.column("channel", .text).notNull()
                t.column("provider_message_id", .text).notNull()
                t.column("state", .text).notNull()
                t.column("error", .text)
                t.column("at", .datetime).notNull()
                t.primaryKey(["channel", "provider_message_id", "state"])
            }
        }
        migrator.registerMigration("v3: escalation") { db in
            try db.alter(table: "report") { t in
                t.add(column: "escalation_level", .integer).notNull().defaults(to: 0)
                t.add(column: "escalation_round", .integer).notNull().defaults(to: 0)
                t.add(column: "next_escalation_at", .datetime)
                t.add(column: "reminders", .integer).notNull().defaults(to: 0)
                t.add(column: "call_now", .boolean).notNull().defaults(to: false)
            }
            try db.create(index: "report_next_escalation", on: "report", columns: ["next_escalation_at"])
            try db.create(table: "cluster_alert") { t in
                t.primaryKey("key", .text)
                t.column("at", .datetime).notNull()
                t.column("reports", .text).notNull()
            }
        }
        migrator.registerMigration("v4: staff access") { db in
            try db.create(table: "api_token") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("role", .text).notNull()
                t.column("officer_id", .text)
                t.column("hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
                t.column("last_used_at", .datetime)
            }
            try db.create(table: "staff_user") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique(onConflict: .fail)
                t.column("role", .text).notNull()
                t.column("officer_id", .text)
                t.column("password_hash", .text).notNull()
                t.column("failed_attempts", .integer).notNull().defaults(to: 0)
                t.column("locked_until", .datetime)
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "web_session") { t in
                t.primaryKey("hash", .text)
                t.column("user_id", .integer).notNull().references("staff_user", onDelete: .cascade)
                t.column("csrf", .text).notNull()
                t.column("expires_at", .datetime).notNull()
            }
            try db.create(table: "audit_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull().indexed()
                t.column("actor", .text).notNull()
                t.column("role", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text)
                t.column("detail", .text)
            }
        }
        migrator.registerMigration("v5: ussd sessions") { db in
            try db.create(table: "ussd_session") { t in
                t.primaryKey("session_id", .text)
                t.column("channel", .text).notNull()
                t.column("phone", .text).notNull()
                t.column("state", .jsonText).notNull()
                t.column("last_text", .text).notNull()
                t.column("responses", .jsonText).notNull()
                t.column("finished", .boolean).notNull().defaults(to: false)
                t.column("report_number", .integer)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull().indexed()
            }
        }
        migrator.registerMigration("v6: child key for same-child lookups") { db in
            try db.alter(table: "report") { t in
                t.add(column: "child_key", .text)
            }
            try db.create(index: "report_same_child", on: "report", columns: ["area_code", "child_key"])
            for row in try Row.fetchAll(db, sql: "SELECT number, json_extract(parsed, '$.child.name') AS name FROM report") {
                guard let name: String = row["name"] else { continue }
                try db.execute(sql: "UPDATE report SET child_key = ? WHERE number = ?", arguments: [TextFolding.fold(name), row["number"]])
            }
        }
        migrator.registerMigration("v7: indexed destination and companion for group warnings") { db in
            try db.alter(table: "report") { t in
                t.add(column: "destination_code", .text)
                t.add(column: "companion_phone", .text)
            }
            try db.execute(sql: """
                UPDATE report SET destination_code = json_extract(parsed, '$.destination.code'),
                                  companion_phone = json_extract(parsed, '$.companion.phone')
                """)
            try db.create(index: "report_destination_group", on: "report", columns: ["area_code", "destination_code", "received_at"])
            try db.create(index: "report_companion_group", on: "report", columns: ["companion_phone", "received_at"])
        }
        migrator.registerMigration("v8: alert bundles, message parts kept once per provider id") { db in
            try db.alter(table: "outbox") { t in
                t.add(column: "bundle_id", .integer)
            }
            try db.create(index: "outbox_bundle", on: "outbox", columns: ["bundle_id"])
            // Which inbound messages reported a case (opened it or joined it about the same child), as opposed to
            // commands about it: only their senders are the case's reporters.
            try db.alter(table: "inbound_message") { t in
                t.add(column: "reported", .boolean).notNull().defaults(to: false)
            }
            try db.execute(sql: "UPDATE inbound_message SET reported = 1 WHERE report_number IS NOT NULL AND sender = (SELECT reporter FROM report WHERE number = report_number)")
            try db.create(index: "inbound_message_report", on: "inbound_message", columns: ["report_number", "sender"])
            try db.create(index: "outbox_recipient", on: "outbox", columns: ["recipient", "purpose", "created_at"])
            // Parts are now kept after assembly (a provider's late retry of a part is still recognised) and a later
            // message may reuse a concatenation reference: unique by the part's own provider message id instead.
            try db.create(table: "inbound_part_v8") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("channel", .text).notNull()
                t.column("sender", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("total", .integer).notNull()
                t.column("number", .integer).notNull()
                t.column("text", .text).notNull()
                t.column("received_at", .datetime).notNull()
                t.column("provider_message_id", .text).notNull()
                t.column("assembled", .boolean).notNull().defaults(to: false)
            }
            try db.execute(sql: """
                INSERT INTO inbound_part_v8 (id, channel, sender, reference, total, number, text, received_at, provider_message_id)
                SELECT id, channel, sender, reference, total, number, text, received_at, 'v7-part-' || id FROM inbound_part
                """)
            try db.drop(table: "inbound_part")
            try db.rename(table: "inbound_part_v8", to: "inbound_part")
            try db.create(index: "inbound_part_message", on: "inbound_part", columns: ["channel", "provider_message_id"], unique: true)
            try db.create(index: "inbound_part_group", on: "inbound_part", columns: ["channel", "sender", "reference", "assembled"])
        }
        registerStaffMigrations(&migrator)
        migrator.registerMigration("v10: indexes for per-sender limits") { db in
            try db.create(index: "inbound_message_sender", on: "inbound_message", columns: ["sender", "received_at"])
            try db.create(index: "report_reporter", on: "report", columns: ["reporter", "received_at"])
        }
        migrator.registerMigration("v11: roster numbers confirmed before they receive a child's details") { db in
            try db.create(table: "roster_confirmation") { t in
                t.column("officer_id", .text).notNull()
                t.column("phone", .text).notNull()
                t.column("code", .text).notNull()
                t.column("invited_at", .datetime).notNull()
                t.column("confirmed_at", .datetime)
                t.primaryKey(["officer_id", "phone"])
            }
        }
        migrator.registerMigration("v12: blind indexes for sealed personal values") { db in
            // Personal values may now be sealed (FieldCipher): lookups go through these index columns. Rows written
            // before hold their values in clear, and their index is the value itself until `tipline rekey` seals them.
            try db.alter(table: "report") { t in
                t.add(column: "reporter_index", .text)
                t.add(column: "child_age", .integer)
            }
            try db.execute(sql: "UPDATE report SET reporter_index = reporter, child_age = json_extract(parsed, '$.child.age')")
            try db.execute(sql: "UPDATE report SET search_key = ' ' || search_key || ' ' WHERE search_key IS NOT NULL")
            try db.drop(index: "report_reporter")
            try db.create(index: "report_reporter", on: "report", columns: ["reporter_index", "received_at"])
            try db.drop(index: "report_same_child")
            try db.create(index: "report_same_child", on: "report", columns: ["area_code", "child_key", "child_age"])
            try db.alter(table: "inbound_message") { t in t.add(column: "sender_index", .text) }
            try db.execute(sql: "UPDATE inbound_message SET sender_index = sender")
            try db.drop(index: "inbound_message_sender")
            try db.create(index: "inbound_message_sender", on: "inbound_message", columns: ["sender_index", "received_at"])
            try db.drop(index: "inbound_message_report")
            try db.create(index: "inbound_message_report", on: "inbound_message", columns: ["report_number", "sender_index"])
            try db.alter(table: "outbox") { t in t.add(column: "recipient_index", .text) }
            try db.execute(sql: "UPDATE outbox SET recipient_index = recipient")
            try db.drop(index: "outbox_recipient")
            try db.create(index: "outbox_recipient", on: "outbox", columns: ["recipient_index", "purpose", "created_at"])
            try db.alter(table: "ussd_session") { t in t.add(column: "phone_index", .text) }
            try db.execute(sql: "UPDATE ussd_session SET phone_index = phone")
            try db.create(index: "ussd_session_report", on: "ussd_session", columns: ["report_number", "phone_index"])
            try db.alter(table: "inbound_part") { t in t.add(column: "sender_index", .text) }
            try db.execute(sql: "UPDATE inbound_part SET sender_index = sender")
            try db.drop(index: "inbound_part_group")
            try db.create(index: "inbound_part_group", on: "inbound_part", columns: ["channel", "sender_index", "reference", "assembled"])
        }
        migrator.registerMigration("v13: only case alerts bundle") { db in
            try db.alter(table: "outbox") { t in t.add(column: "bundleable", .boolean).notNull().defaults(to: false) }
        }
        migrator.registerMigration("v14: outcome codes") { db in
            // How a case ended, and the child's sex beside the age: facts for the statistics, in clear (the parse
            // they come from may be sealed). Sealed rows get their sex when `tipline rekey` rewrites them.
            try db.alter(table: "report") { t in
                t.add(column: "outcome", .text)
                t.add(column: "child_sex", .text)
            }
            try db.execute(sql: """
                UPDATE report SET child_sex = json_extract(parsed, '$.child.sex')
                WHERE parsed NOT LIKE 'enc1:%' AND json_valid(parsed)
                """)
        }
        migrator.registerMigration("v15: alerts found by officer and send time") { db in
            // The bundle window and the waiting alert are looked up per officer by send time, on every alert: without
            // this index each lookup read every alert the officer ever had.
            try db.create(index: "outbox_recipient_due", on: "outbox", columns: ["recipient_index", "purpose", "next_attempt_at"])
        }
        migrator.registerMigration("v16: the open case about a child found without reading closed or linked reports") { db in
            // Every tip about a named child looks for an open case about them. Indexed by name alone, the lookup read
            // every report ever linked to that child (each further reporter's report is linked, not open): a case
            // many people report made every next report slower. Only open cases are in this index, newest last.
            try db.execute(sql: """
                CREATE INDEX report_same_child_open ON report (area_code, child_key, number)
                WHERE status IN ('open', 'acknowledged', 'home')
                """)
            // The alert waiting for an officer (the head of their bundle) is looked up on every alert: only alerts
            // that may still take others are in this index, not the bundled ones nor those sent.
            try db.execute(sql: """
                CREATE INDEX outbox_held_alert ON outbox (recipient_index, channel, id)
                WHERE purpose = 'alert' AND state = 'queued' AND attempts = 0 AND bundleable = 1
                """)
        }
        migrator.registerMigration("v17: search through a full-text index of the words' blind indexes") { db in
            // `search_key` holds each word of a report's text as its blind index (" bw:… bw:… "). Matched with LIKE,
            // a search for a rare word read every report. This index (tokens only: no positions, no copy of the
            // column) finds a word's reports newest first. Triggers keep it equal to the column, so retention and
            // erasure, which clear the column, clear the index too (and `checkpointTruncating` merges the old entries away).
            try db.execute(sql: """
                CREATE VIRTUAL TABLE report_search USING fts5(search_key, content = 'report', content_rowid = 'number',
                    tokenize = "unicode61 tokenchars ':'", detail = none);
                INSERT INTO report_search(report_search) VALUES ('rebuild');
                CREATE TRIGGER report_search_insert AFTER INSERT ON report WHEN new.search_key IS NOT NULL BEGIN
                    INSERT INTO report_search(rowid, search_key) VALUES (new.number, new.search_key);
                END;
                CREATE TRIGGER report_search_delete AFTER DELETE ON report WHEN old.search_key IS NOT NULL BEGIN
                    INSERT INTO report_search(report_search, rowid, search_key) VALUES ('delete', old.number, old.search_key);
                END;
                CREATE TRIGGER report_search_update AFTER UPDATE OF search_key ON report
                WHEN old.search_key IS NOT new.search_key BEGIN
                    INSERT INTO report_search(report_search, rowid, search_key)
                        SELECT 'delete', old.number, old.search_key WHERE old.search_key IS NOT NULL;
                    INSERT INTO report_search(rowid, search_key) SELECT new.number, new.search_key WHERE new.search_key IS NOT NULL;
                END;
                """)
            // The cases needing someone, for the hotline log's first rows: to call now; unacknowledged, urgent first.
            try db.execute(sql: "CREATE INDEX report_call_now ON report (number) WHERE call_now = 1")
            try db.execute(sql: "CREATE INDEX report_open ON report (urgent, number) WHERE status = 'open'")
            // The log filtered by province, newest first (by commune: `report_on_area_code`).
            try db.execute(sql: "CREATE INDEX report_province ON report (province_code)")
        }
        migrator.registerMigration("v18: blind indexes of 64 bits") { db in
            // Equality lookups (sender, reporter, recipient, child, companion, opt-outs, group-warning keys) compare
            // `bi2:` indexes, 64 bits of the keyed HMAC, instead of `bi1:`, 128 bits: smaller rows and indexes on
            // every message. A `bi2:` index is the first half of the `bi1:` index of the same value, so the stored
            // ones are cut here, without the keys; so are the words of search keys (`bw:`, the full-text index
            // follows through its trigger).
            // `OR REPLACE`: two old indexes with the same first half (not to be expected) become one row — an opt-out
            // must never be left in a form lookups no longer find.
            for (table, column) in [("report", "reporter_index"), ("report", "child_key"), ("report", "companion_phone"),
                                    ("inbound_message", "sender_index"), ("outbox", "recipient_index"), ("ussd_session", "phone_index"),
                                    ("inbound_part", "sender_index"), ("opt_out", "phone"), ("cluster_alert", "key")] {
                try db.execute(sql: "UPDATE OR REPLACE \(table) SET \(column) = 'bi2:' || substr(\(column), 5, 16) WHERE \(column) LIKE 'bi1:%'")
            }
            var after = 0
            while true {
                let rows = try Row.fetchAll(db, sql: """
                    SELECT number, search_key FROM report WHERE number > ? AND search_key LIKE ' bi1:%' ORDER BY number LIMIT 1000
                    """, arguments: [after])
                guard let last = rows.last else { break }
                for row in rows {
                    let words = (row["search_key"] as String).split(separator: " ").map { $0.hasPrefix("bi1:") ? "bw:" + $0.dropFirst(4).prefix(16) : $0 }
                    try db.execute(sql: "UPDATE report SET search_key = ? WHERE number = ?",
                                   arguments: [" " + words.joined(separator: " ") + " ", row["number"] as Int])
                }
                after = last["number"]
            }
            // The rewritten words' old segments merged away: no `bi1:` word stays in the search index.
            try db.execute(sql: "INSERT INTO report_search(report_search) VALUES ('optimize')")
        }
        migrator.registerMigration("v19: the purge finds what is due without reading every report") { db in
            // Retention runs hourly: its selections read every report (a second of the two cores at a million).
            // Closed cases still holding personal values, by closing time; cases never closed, by age.
            try db.execute(sql: """
                CREATE INDEX report_personal_closed ON report (status, closed_at) WHERE text IS NOT NULL OR reporter IS NOT NULL
                """)
            try db.execute(sql: "CREATE INDEX report_unclosed ON report (received_at) WHERE status != 'closed' AND kind != 'command'")
        }
        migrator.registerMigration("v20: outbox claims carry a lease") { db in
            // Several instances on one PostgreSQL database send from one outbox: a claim is good until `lease_until`,
            // after which another instance takes the message again (its claimer died mid-send). A restarted SQLite
            // server, alone on its file, still puts every `sending` message back at once.
            try db.alter(table: "outbox") { t in t.add(column: "lease_until", .datetime) }
            try db.execute(sql: "CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state = 'sending'")
        }
        migrator.registerMigration("v21: each channel's rate limit booked in the database") { db in
            // When each channel may send next: claims book their messages' slots here, so a channel's limit holds for
            // every instance of a cluster together, not for each alone.
            try db.create(table: "channel_pace") { t in
                t.primaryKey("channel", .text)
                t.column("next_at", .datetime).notNull()
            }
        }
        migrator.registerMigration("v22: outbox claims are named") { db in
            // Each claim draws a token: a send's outcome is recorded only while the claim that made the send still holds
            // the message, never over a later claim of it (another instance's, after this one's lease ran out).
            try db.alter(table: "outbox") { t in t.add(column: "claim_token", .integer) }
        }
        return migrator
    }
}
