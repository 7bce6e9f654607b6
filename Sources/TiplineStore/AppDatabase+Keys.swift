import Foundation
import GRDB
import TiplineCore

extension AppDatabase {
    /// What a `rekey` pass did, table by table.
    public struct RekeySummary: Sendable, CustomStringConvertible {
        public var rows: [String: Int] = [:]
        public var description: String {
            rows.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        }
    }

    /// Seals every personal value again under the current key, and recomputes every blind index — online, in small
    /// transactions the intake interleaves with. Values sealed with an older key (or stored in clear before
    /// encryption was turned on) are opened with it, so every configured key must still be present.
    public func rekey(batchSize: Int = 200) async throws -> RekeySummary {
        var summary = RekeySummary()
        summary.rows["report"] = try await rewrite(table: "report", key: ["number"], batchSize: batchSize) { session, key in
            guard var report = try session.fetch(Report.self, key: key[0]) else { return }
            report.searchKey = report.text.map { TextFolding.fold($0).trimmingCharacters(in: .whitespaces) }
            try session.update(report)
        }
        summary.rows["inbound_message"] = try await rewrite(table: "inbound_message", key: ["id"], batchSize: batchSize) { session, key in
            if let message = try session.fetch(InboundMessage.self, key: key[0]) { try session.update(message) }
        }
        summary.rows["outbox"] = try await rewrite(table: "outbox", key: ["id"], batchSize: batchSize) { session, key in
            if let message = try session.fetch(OutboundMessage.self, key: key[0]) { try session.update(message) }
        }
        summary.rows["report_event"] = try await rewrite(table: "report_event", key: ["id"], batchSize: batchSize) { session, key in
            if let event = try session.fetch(ReportEvent.self, key: key[0]) { try session.update(event) }
        }
        // The phone and every answer typed are sealed (``CaseStore/save(_:)``): each opened and sealed again as stored.
        summary.rows["ussd_session"] = try await rewrite(table: "ussd_session", key: ["session_id"], batchSize: batchSize) { session, key in
            let cipher = try FieldCipher.inForce
            guard let row = try session.row("SELECT phone, state, last_text, responses FROM ussd_session WHERE session_id = ?", key[0]),
                  let phone = try cipher.open(row["phone"].string) else { return }
            try session.execute("UPDATE ussd_session SET phone = ?, phone_index = ?, state = ?, last_text = ?, responses = ? WHERE session_id = ?",
                                try cipher.seal(phone), cipher.index(phone), try cipher.seal(cipher.open(row["state"].string)),
                                try cipher.seal(cipher.open(row["last_text"].string)), try cipher.seal(cipher.open(row["responses"].string)), key[0])
        }
        summary.rows["inbound_part"] = try await rewrite(table: "inbound_part", key: ["id"], batchSize: batchSize) { session, key in
            let cipher = try FieldCipher.inForce
            guard let row = try session.row("SELECT sender, text FROM inbound_part WHERE id = ?", key[0]),
                  let sender = try cipher.open(row["sender"].string), let text = try cipher.open(row["text"].string) else { return }
            try session.execute("UPDATE inbound_part SET sender = ?, sender_index = ?, text = ? WHERE id = ?",
                                try cipher.seal(sender), cipher.index(sender), try cipher.seal(text), key[0])
        }
        // Kept only as blind indexes: a value stored in clear (before encryption) becomes its index, unless a row holds
        // that index already (lookups find that one). The value is the row's key: the new key is handed back.
        summary.rows["opt_out"] = try await rewriteKeys(table: "opt_out", key: ["phone"], batchSize: batchSize) { session, key in
            let cipher = try FieldCipher.inForce
            guard let phone = key[0].string, !FieldCipher.isIndex(phone) else { return nil }
            let index = cipher.index(phone)
            let changed = try session.execute("UPDATE opt_out SET phone = ? WHERE phone = ? AND NOT EXISTS (SELECT 1 FROM opt_out WHERE phone = ?)",
                                              index, phone, index)
            return changed == 1 ? [.text(index)] : nil
        }
        summary.rows["cluster_alert"] = try await rewriteKeys(table: "cluster_alert", key: ["key"], batchSize: batchSize) { session, key in
            let cipher = try FieldCipher.inForce
            guard let value = key[0].string, !FieldCipher.isIndex(value) else { return nil }
            let index = cipher.index(value)
            let changed = try session.execute("UPDATE cluster_alert SET key = ? WHERE key = ? AND NOT EXISTS (SELECT 1 FROM cluster_alert WHERE key = ?)",
                                              index, value, index)
            return changed == 1 ? [.text(index)] : nil
        }
        summary.rows["pending_delivery_report"] = try await rewrite(table: "pending_delivery_report", key: ["channel", "provider_message_id", "state"],
                                                                    batchSize: batchSize) { session, key in
            let cipher = try FieldCipher.inForce
            let error = try session.value("SELECT error FROM pending_delivery_report WHERE channel = ? AND provider_message_id = ? AND state = ?",
                                          key[0], key[1], key[2]).string
            try session.execute("UPDATE pending_delivery_report SET error = ? WHERE channel = ? AND provider_message_id = ? AND state = ?",
                                try cipher.seal(try cipher.open(error)), key[0], key[1], key[2])
        }
        try await checkpointTruncating()
        return summary
    }

    /// Rewrites every row of a table, `batchSize` rows a transaction, in the order of its key (the primary key, one
    /// column or several: neither backend has a row id both share).
    private func rewrite(table: String, key: [String], batchSize: Int,
                         _ row: @escaping @Sendable (any SQLSession, [SQLValue]) throws -> Void) async throws -> Int {
        try await rewriteKeys(table: table, key: key, batchSize: batchSize) { session, key in
            try row(session, key)
            return nil
        }
    }

    /// ``rewrite(table:key:batchSize:_:)`` for a table whose key is the value rewritten (an opt-out's phone): `row`
    /// hands back the row's new key when it changed it, so that the row, met again further on, is not counted twice.
    private func rewriteKeys(table: String, key: [String], batchSize: Int,
                             _ row: @escaping @Sendable (any SQLSession, [SQLValue]) throws -> [SQLValue]?) async throws -> Int {
        let columns = key.joined(separator: ", ")
        let first = "SELECT \(columns) FROM \(table) ORDER BY \(columns) LIMIT ?"
        let after = key.count == 1 ? "\(columns) > ?" : "(\(columns)) > (\(key.map { _ in "?" }.joined(separator: ", ")))"
        let next = "SELECT \(columns) FROM \(table) WHERE \(after) ORDER BY \(columns) LIMIT ?"
        var last: [SQLValue]?
        var rekeyed = Set<[SQLValue]>()
        var count = 0
        while true {
            let start = last
            let (keys, changed) = try await sqlWrite { session -> ([[SQLValue]], [[SQLValue]]) in
                let keys = try session.rows(start == nil ? first : next, (start ?? []) + [batchSize.sqlValue]).map(\.values)
                return (keys, try keys.compactMap { try row(session, $0) })
            }
            guard let end = keys.last else { return count }
            count += keys.count(where: { !rekeyed.contains($0) })
            rekeyed.formUnion(changed)
            last = end
        }
    }

    /// Writes the WAL back into the database file and empties it, so erased or re-sealed values leave no copy there;
    /// with `mergingSearch`, first merges the search index, so the words of erased texts leave its older segments
    /// too (at a million reports the merge takes the writer for a second or more: only when something was erased).
    ///
    /// SQLite only. PostgreSQL has no FTS5 segments to merge (its GIN index loses dead entries when `report` is
    /// vacuumed) and no WAL to empty from here: there, the old values go when the tables are vacuumed and the WAL
    /// segments holding them are recycled (and from backups and WAL archives only as they expire).
    public func checkpointTruncating(mergingSearch: Bool = true) async throws {
        guard dialect == .sqlite else { return }
        if mergingSearch {
            try await sqlWrite { session in _ = try session.execute("INSERT INTO report_search(report_search) VALUES ('optimize')") }
        }
        try await dbWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
