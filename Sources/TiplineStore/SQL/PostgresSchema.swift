import Foundation
import GRDB

/// The PostgreSQL schema, derived from the one description of the schema there is: the SQLite migrations in
/// ``AppDatabase`` (``AppDatabase/migrator``). Each migration is run on an empty in-memory SQLite database, the
/// resulting tables, columns, keys and indexes are read back, and what changed is written as PostgreSQL DDL — so the
/// two backends cannot drift apart, and a new migration is written once.
///
/// Types: `INTEGER` → `BIGINT`, `TEXT` → `TEXT`, `DATETIME` → `TIMESTAMPTZ`, `DOUBLE`/`REAL` → `DOUBLE PRECISION`,
/// `BLOB` → `BYTEA`, and `BOOLEAN` → `SMALLINT` (0 and 1, as SQLite keeps them: a statement comparing a flag with
/// 1 is the same on both). An `AUTOINCREMENT` key becomes an identity column that starts where SQLite's sequence
/// stood (report numbers from 1001). The FTS5 search table becomes a GIN index over the words of the column it
/// indexes. A migration that only rewrites data changes nothing here (a PostgreSQL database starts at the schema
/// of its first version); one that changes a column's type or a table's keys is refused until written by hand.
enum PostgresSchema {
    struct Column: Equatable {
        let name: String
        let definition: String
    }

    struct Table: Equatable {
        let name: String
        var columns: [Column]
        var constraints: [String]
    }

    struct Snapshot: Equatable {
        var tables: [Table] = []
        /// Index name → its PostgreSQL `CREATE INDEX` statement.
        var indexes: [String: String] = [:]
    }

    struct Unsupported: Error, CustomStringConvertible {
        let description: String
    }

    /// The schema after the migrations up to `identifier` (all of them when nil).
    static func snapshot(upTo identifier: String? = nil) throws -> Snapshot {
        let queue = try DatabaseQueue()
        if let identifier {
            try AppDatabase.migrator.migrate(queue, upTo: identifier)
        } else {
            try AppDatabase.migrator.migrate(queue)
        }
        return try queue.read { db in try read(db) }
    }

    /// The statements that take a PostgreSQL database from the migrations `applied` to all of them, one step a
    /// migration (a new database: one step creating the current schema, recording every migration).
    static func plan(applied: [String]) throws -> [(identifiers: [String], statements: [String])] {
        let known = AppDatabase.migrator.migrations
        if applied.isEmpty {
            return [(known, create(try snapshot()))]
        }
        guard let last = applied.compactMap({ known.firstIndex(of: $0) }).max() else {
            throw Unsupported(description: "the database's schema has none of this tipline's migrations")
        }
        var steps: [(identifiers: [String], statements: [String])] = []
        var before = try snapshot(upTo: known[last])
        for identifier in known[(last + 1)...] {
            let after = try snapshot(upTo: identifier)
            let statements = try changes(from: before, to: after, migration: identifier)
            // A migration that changes no structure rewrites data: derived, it would do nothing here. Those up to v21
            // were written before there was a PostgreSQL database to rewrite; a later one must say what to do here.
            if statements.isEmpty, let index = known.firstIndex(of: identifier), index > lastDerivedOnly {
                throw Unsupported(description: "migration '\(identifier)' changes no table or index: if it rewrites data, write its PostgreSQL form by hand")
            }
            steps.append(([identifier], statements))
            before = after
        }
        return steps
    }

    /// A database that has migrations this tipline does not know was migrated by a newer one: refused, as on SQLite.
    static func refuseNewer(applied: [String]) throws {
        let unknown = Set(applied).subtracting(AppDatabase.migrator.migrations)
        if !unknown.isEmpty { throw AppDatabase.SchemaError(unknown: unknown.sorted()) }
    }

    /// The last migration whose data rewrites (if any) need no PostgreSQL counterpart: v21.
    static var lastDerivedOnly: Int {
        AppDatabase.migrator.migrations.firstIndex { $0.hasPrefix("v21:") } ?? Int.max
    }

    /// Every statement creating `snapshot` in an empty database.
    static func create(_ snapshot: Snapshot) -> [String] {
        snapshot.tables.map(createTable) + snapshot.indexes.keys.sorted().map { snapshot.indexes[$0]! }
    }

    static func createTable(_ table: Table) -> String {
        let parts = table.columns.map { "\(quote($0.name)) \($0.definition)" } + table.constraints
        return "CREATE TABLE \(quote(table.name)) (\(parts.joined(separator: ", ")))"
    }

    /// What one migration changed, as PostgreSQL statements.
    static func changes(from before: Snapshot, to after: Snapshot, migration: String) throws -> [String] {
        var statements: [String] = []
        let old = Dictionary(uniqueKeysWithValues: before.tables.map { ($0.name, $0) })
        let new = Dictionary(uniqueKeysWithValues: after.tables.map { ($0.name, $0) })
        for name in before.indexes.keys.sorted() where after.indexes[name] != before.indexes[name] {
            statements.append("DROP INDEX IF EXISTS \(quote(name))")
        }
        let addedTables = after.tables.filter { old[$0.name] == nil }
        for table in before.tables where new[table.name] == nil {
            // A table gone while another appears is a rename, which dropping would lose the rows of.
            guard addedTables.isEmpty else {
                throw Unsupported(description: "migration '\(migration)' drops table '\(table.name)' and adds another: write its PostgreSQL migration by hand")
            }
            statements.append("DROP TABLE \(quote(table.name))")
        }
        for table in after.tables {
            guard let previous = old[table.name] else {
                statements.append(createTable(table))
                continue
            }
            guard previous.constraints == table.constraints else {
                throw Unsupported(description: "migration '\(migration)' changes the keys of table '\(table.name)': write its PostgreSQL migration by hand")
            }
            let kept = Dictionary(uniqueKeysWithValues: previous.columns.map { ($0.name, $0.definition) })
            for column in table.columns {
                if let definition = kept[column.name] {
                    guard definition == column.definition else {
                        throw Unsupported(description: "migration '\(migration)' changes column '\(table.name).\(column.name)': write its PostgreSQL migration by hand")
                    }
                } else {
                    statements.append("ALTER TABLE \(quote(table.name)) ADD COLUMN \(quote(column.name)) \(column.definition)")
                }
            }
            for column in previous.columns where !table.columns.contains(where: { $0.name == column.name }) {
                guard table.columns.allSatisfy({ kept[$0.name] != nil }) else {
                    throw Unsupported(description: "migration '\(migration)' drops column '\(table.name).\(column.name)' and adds another: write its PostgreSQL migration by hand")
                }
                statements.append("ALTER TABLE \(quote(table.name)) DROP COLUMN \(quote(column.name))")
            }
        }
        for name in after.indexes.keys.sorted() where after.indexes[name] != before.indexes[name] {
            statements.append(after.indexes[name]!)
        }
        return statements
    }

    // MARK: - Reading SQLite's schema

    static func read(_ db: Database) throws -> Snapshot {
        var snapshot = Snapshot()
        let sequences = Dictionary(try Row.fetchAll(db, sql: "SELECT name, seq FROM sqlite_sequence").map { ($0[0] as String, $0[1] as Int64) },
                                   uniquingKeysWith: { $1 })
        let objects = try Row.fetchAll(db, sql: """
            SELECT type, name, tbl_name, sql FROM sqlite_master
            WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations' ORDER BY rowid
            """)
        // FTS5 keeps shadow tables named after the virtual table (`report_search_data`, …): not part of the schema.
        let virtual = objects.filter { ($0["sql"] as String).hasPrefix("CREATE VIRTUAL TABLE") }.map { $0["name"] as String }
        for object in objects {
            let type: String = object["type"], name: String = object["name"], table: String = object["tbl_name"], sql: String = object["sql"]
            if virtual.contains(where: { name.hasPrefix($0 + "_") }) { continue }
            switch type {
            case "table" where sql.hasPrefix("CREATE VIRTUAL TABLE"):
                snapshot.indexes[name] = try searchIndex(name, sql: sql)
            case "table":
                snapshot.tables.append(try readTable(db, name, sql: sql, sequence: sequences[name]))
            case "index":
                snapshot.indexes[name] = try readIndex(db, name, table: table, sql: sql)
            default:
                // Triggers keep the FTS5 table equal to its column; PostgreSQL's index needs none.
                continue
            }
        }
        return snapshot
    }

    static func readTable(_ db: Database, _ name: String, sql: String, sequence: Int64?) throws -> Table {
        let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(\(quote(name)))")
        let keys = columns.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }.map { $0["name"] as String }
        let autoincrement = sql.uppercased().contains("AUTOINCREMENT")
        var table = Table(name: name, columns: [], constraints: [])
        for column in columns {
            let columnName: String = column["name"]
            let declared: String = column["type"]
            var definition: String
            if keys == [columnName], autoincrement {
                definition = "BIGINT GENERATED BY DEFAULT AS IDENTITY" + (sequence.map { " (START WITH \($0 + 1))" } ?? "") + " PRIMARY KEY"
            } else {
                definition = try type(declared, column: "\(name).\(columnName)")
                if keys == [columnName] { definition += " PRIMARY KEY" }
                if (column["notnull"] as Int) == 1, keys != [columnName] { definition += " NOT NULL" }
                if let value = column["dflt_value"] as String? { definition += " DEFAULT \(value)" }
            }
            table.columns.append(Column(name: columnName, definition: definition))
        }
        if keys.count > 1 { table.constraints.append("PRIMARY KEY (\(keys.map(quote).joined(separator: ", ")))") }
        for index in try Row.fetchAll(db, sql: "PRAGMA index_list(\(quote(name)))") where (index["origin"] as String) == "u" {
            let indexColumns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [index["name"] as String])
            table.constraints.append("UNIQUE (\(indexColumns.map(quote).joined(separator: ", ")))")
        }
        for reference in try Row.fetchAll(db, sql: "PRAGMA foreign_key_list(\(quote(name)))") {
            let onDelete: String = reference["on_delete"]
            table.constraints.append("FOREIGN KEY (\(quote(reference["from"] as String))) REFERENCES \(quote(reference["table"] as String)) (\(quote(reference["to"] as String)))"
                                     + (onDelete == "NO ACTION" ? "" : " ON DELETE \(onDelete)"))
        }
        table.constraints.sort()
        return table
    }

    static func readIndex(_ db: Database, _ name: String, table: String, sql: String) throws -> String {
        let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_index_info(?) ORDER BY seqno", arguments: [name])
        let unique = sql.uppercased().hasPrefix("CREATE UNIQUE INDEX")
        var statement = "CREATE \(unique ? "UNIQUE " : "")INDEX \(quote(name)) ON \(quote(table)) (\(columns.map(quote).joined(separator: ", ")))"
        // A partial index's condition, as written (statuses, 0/1 flags and comparisons read the same in both).
        if let match = sql.firstMatch(of: /(?i)\sWHERE\s/) {
            statement += " WHERE " + sql[match.range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return statement
    }

    /// `CREATE VIRTUAL TABLE x USING fts5(column, content = 'table', …)` → a GIN index over the column's words.
    static func searchIndex(_ name: String, sql: String) throws -> String {
        guard let open = sql.firstIndex(of: "("), let table = sql.firstMatch(of: /content\s*=\s*'([a-z_]+)'/)?.1 else {
            throw Unsupported(description: "the virtual table '\(name)' is not an external-content FTS5 table")
        }
        let column = sql[sql.index(after: open)...].prefix { $0 != "," && $0 != ")" }.trimmingCharacters(in: .whitespaces)
        return "CREATE INDEX \(quote(name)) ON \(quote(String(table))) USING gin (\(searchWords(column)))"
    }

    /// The words of a search key (`" w1 w2 "`) as PostgreSQL indexes and matches them.
    static func searchWords(_ column: String) -> String {
        "string_to_array(btrim(\(quote(column))), ' ')"
    }

    static func type(_ declared: String, column: String) throws -> String {
        switch declared.uppercased() {
        case "INTEGER", "INT", "BIGINT": "BIGINT"
        case "TEXT", "JSON": "TEXT"
        case "DATETIME", "DATE": "TIMESTAMPTZ"
        case "BOOLEAN": "SMALLINT"
        case "DOUBLE", "REAL", "FLOAT", "NUMERIC": "DOUBLE PRECISION"
        case "BLOB": "BYTEA"
        default: throw Unsupported(description: "column '\(column)' has type '\(declared)', which has no PostgreSQL translation yet")
        }
    }

    static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension PostgresBackend {
    /// What the first instance to start would find, without changing anything (`tipline check-config`): the schema
    /// up to date, or how many migrations it would run. A database migrated by a newer tipline is an error, as it
    /// is for ``migrate()``; so is a database that cannot be reached (named without its password).
    public func schemaState() async throws -> String {
        try await read { session in
            guard try session.value("SELECT CASE WHEN to_regclass('tipline_migrations') IS NULL THEN 0 ELSE 1 END").int == 1 else {
                return "empty: the first instance to start creates the schema (\(AppDatabase.migrator.migrations.count) migrations)"
            }
            let applied = try session.rows("SELECT identifier FROM tipline_migrations").compactMap { $0[0].string }
            try PostgresSchema.refuseNewer(applied: applied)
            let pending = AppDatabase.migrator.migrations.filter { !applied.contains($0) }.count
            return pending == 0 ? "schema up to date" : "\(pending) migration\(pending == 1 ? "" : "s") to run when the first instance starts"
        }
    }

    /// Brings the database's schema up to this tipline's, once for the whole cluster: the instance that starts first
    /// takes the migration lock (a session advisory lock) and migrates; the others wait for it, then find nothing to do.
    /// A database migrated by a newer tipline is refused, as on SQLite.
    public func migrate() async throws {
        try await session { session in
            // No time limit here: another instance may hold the lock for a long migration, and building an index
            // over millions of reports takes what it takes.
            session.deadline = nil
            try session.execute("SET lock_timeout = 0")
            try session.execute("SET statement_timeout = 0")
            defer {
                _ = try? session.execute("SELECT pg_advisory_unlock(?)", Self.migrationLock)
                _ = try? session.execute("RESET lock_timeout")
                _ = try? session.execute("RESET statement_timeout")
            }
            try session.execute("SELECT pg_advisory_lock(?)", Self.migrationLock)
            try session.execute("CREATE TABLE IF NOT EXISTS tipline_migrations (identifier TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
            let applied = try session.rows("SELECT identifier FROM tipline_migrations ORDER BY applied_at, identifier").compactMap { $0[0].string }
            try PostgresSchema.refuseNewer(applied: applied)
            for step in try PostgresSchema.plan(applied: applied) {
                try session.execute("BEGIN")
                do {
                    for statement in step.statements { try session.execute(statement) }
                    for identifier in step.identifiers {
                        try session.execute("INSERT INTO tipline_migrations (identifier) VALUES (?) ON CONFLICT DO NOTHING", identifier)
                    }
                    try session.execute("COMMIT")
                } catch {
                    _ = try? session.execute("ROLLBACK")
                    throw error
                }
            }
        }
    }
}
