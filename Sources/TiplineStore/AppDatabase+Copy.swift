import Foundation

// MARK: - Moving a SQLite deployment to PostgreSQL

extension AppDatabase {
    /// One table copied: rows in the SQLite file, rows in PostgreSQL after the copy.
    public struct CopiedTable: Sendable {
        public var table: String
        public var source: Int
        public var copied: Int
    }

    public struct CopyRefused: Error, CustomStringConvertible {
        public let description: String
    }

    /// Copies every table of a SQLite deployment (`source`) into this PostgreSQL database, which must be empty:
    /// reports and their timelines, messages, the outbox, staff, tokens, sessions, the audit log — row for row, sealed
    /// values as they are (the deployment keeps its keys). Generated numbers continue after the highest copied one.
    /// Returns each table's counts on both sides; the caller checks them.
    public func copy(from source: AppDatabase) async throws -> [CopiedTable] {
        guard case .postgres = backend else { throw CopyRefused(description: "the target must be a PostgreSQL database (database.url)") }
        guard case .sqlite = source.backend else { throw CopyRefused(description: "the source must be a SQLite file") }
        let schema = try PostgresSchema.snapshot()
        let filled = try await sqlRead { session in
            try schema.tables.filter { try session.value("SELECT EXISTS (SELECT 1 FROM \($0.name))").bool == true }.map(\.name)
        }
        guard filled.isEmpty else {
            throw CopyRefused(description: "the PostgreSQL database already holds data (\(filled.joined(separator: ", "))): copy into an empty one")
        }
        var result: [CopiedTable] = []
        // Tables in the order the migrations made them: a row's parent (a report, a staff user) is copied first.
        for table in schema.tables {
            let dates = Set(table.columns.filter { $0.definition.hasPrefix("TIMESTAMPTZ") }.map(\.name))
            let names = table.columns.map(\.name)
            let perStatement = max(1, 30_000 / names.count)
            var after: Int64 = 0
            var copied = 0
            while true {
                let from = after
                let rows = try await source.sqlRead { session in
                    try session.rows("SELECT rowid AS copy_rowid, \(names.joined(separator: ", ")) FROM \(table.name) WHERE rowid > ? ORDER BY rowid LIMIT 2000", from)
                }
                guard let last = rows.last?["copy_rowid"].int64 else { break }
                after = last
                let values = rows.map { row in
                    names.map { name -> SQLValue in
                        let value = row[name]
                        // SQLite keeps times as text; PostgreSQL's columns are timestamps.
                        if dates.contains(name), case .text(let text) = value { return SQLDate.parse(text).map(SQLValue.date) ?? value }
                        return value
                    }
                }
                try await sqlWrite { session in
                    for chunk in stride(from: 0, to: values.count, by: perStatement) {
                        let slice = values[chunk..<min(chunk + perStatement, values.count)]
                        let tuple = "(" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
                        try session.execute("INSERT INTO \(table.name) (\(names.joined(separator: ", "))) VALUES "
                                            + Array(repeating: tuple, count: slice.count).joined(separator: ", "), slice.flatMap { $0 })
                    }
                }
                copied += rows.count
            }
            let counts = (try await source.sqlRead { session in try session.value("SELECT COUNT(*) FROM \(table.name)").int ?? -1 },
                          try await sqlRead { session in try session.value("SELECT COUNT(*) FROM \(table.name)").int ?? -1 })
            result.append(CopiedTable(table: table.name, source: counts.0, copied: counts.1))
        }
        // Identity columns continue after the copied rows and after any number SQLite ever gave (a row since deleted
        // keeps its number used): report numbers after the highest, from 1001.
        let given = try await source.sqlRead { session -> [String: Int64] in
            guard try session.value("SELECT COUNT(*) FROM sqlite_master WHERE name = 'sqlite_sequence'").int == 1 else { return [:] }
            return Dictionary(try session.rows("SELECT name, seq FROM sqlite_sequence").compactMap { row in row[0].string.map { ($0, row[1].int64 ?? 0) } },
                       uniquingKeysWith: max)
        }
        try await sqlWrite { session in
            // The SQLite server is stopped: what it was sending when it stopped goes back to the queue.
            try session.execute("UPDATE outbox SET state = 'queued', lease_until = NULL, claim_token = NULL WHERE state = 'sending'")
            for table in schema.tables {
                guard let key = table.columns.first(where: { $0.definition.contains("GENERATED BY DEFAULT AS IDENTITY") }) else { continue }
                // An empty table keeps its sequence's start.
                _ = try session.rows("""
                    SELECT setval(pg_get_serial_sequence('\(table.name)', '\(key.name)'), GREATEST(MAX(\(key.name)), ?))
                    FROM \(table.name) HAVING COUNT(*) > 0 OR ? > 0
                    """, given[table.name] ?? 0, given[table.name] ?? 0)
            }
        }
        return result
    }
}
