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
        summary.rows["report"] = try await rewrite(table: "report", key: "number", batchSize: batchSize) { db, id in
            guard var report = try Report.fetchOne(db, key: id) else { return }
            report.searchKey = report.text.map { TextFolding.fold($0).trimmingCharacters(in: .whitespaces) }
            try report.update(db)
        }
        summary.rows["inbound_message"] = try await rewrite(table: "inbound_message", key: "id", batchSize: batchSize) { db, id in
            try InboundMessage.fetchOne(db, key: id)?.update(db)
        }
        summary.rows["outbox"] = try await rewrite(table: "outbox", key: "id", batchSize: batchSize) { db, id in
            try OutboundMessage.fetchOne(db, key: id)?.update(db)
        }
        summary.rows["report_event"] = try await rewrite(table: "report_event", key: "id", batchSize: batchSize) { db, id in
            try ReportEvent.fetchOne(db, key: id)?.update(db)
        }
        summary.rows["ussd_session"] = try await rewrite(table: "ussd_session", key: "rowid", batchSize: batchSize) { db, id in
            let store = CaseStore(db)
            guard let sessionID = try String.fetchOne(db, sql: "SELECT session_id FROM ussd_session WHERE rowid = ?", arguments: [id]),
                  let session = try store.ussdSession(id: sessionID) else { return }
            try store.save(session)
            try db.execute(sql: "UPDATE ussd_session SET phone = ?, phone_index = ? WHERE session_id = ?",
                           arguments: [try FieldCipher.inForce.seal(session.phone), try FieldCipher.inForce.index(session.phone), sessionID])
        }
        summary.rows["inbound_part"] = try await rewrite(table: "inbound_part", key: "id", batchSize: batchSize) { db, id in
            let cipher = try FieldCipher.inForce
            guard let row = try Row.fetchOne(db, sql: "SELECT sender, text FROM inbound_part WHERE id = ?", arguments: [id]) else { return }
            let sender: String = try cipher.open(row["sender"] as String)
            let text: String = try cipher.open(row["text"] as String)
            try db.execute(sql: "UPDATE inbound_part SET sender = ?, sender_index = ?, text = ? WHERE id = ?",
                           arguments: [try cipher.seal(sender) as String, cipher.index(sender) as String, try cipher.seal(text) as String, id])
        }
        // Kept only as blind indexes: a value stored in clear (before encryption) becomes its index.
        summary.rows["opt_out"] = try await rewrite(table: "opt_out", key: "rowid", batchSize: batchSize) { db, id in
            let cipher = try FieldCipher.inForce
            guard let phone = try String.fetchOne(db, sql: "SELECT phone FROM opt_out WHERE rowid = ?", arguments: [id]), !FieldCipher.isIndex(phone) else { return }
            try db.execute(sql: "UPDATE OR IGNORE opt_out SET phone = ? WHERE rowid = ?", arguments: [cipher.index(phone), id])
        }
        summary.rows["cluster_alert"] = try await rewrite(table: "cluster_alert", key: "rowid", batchSize: batchSize) { db, id in
            let cipher = try FieldCipher.inForce
            guard let key = try String.fetchOne(db, sql: "SELECT key FROM cluster_alert WHERE rowid = ?", arguments: [id]), !FieldCipher.isIndex(key) else { return }
            try db.execute(sql: "UPDATE OR IGNORE cluster_alert SET key = ? WHERE rowid = ?", arguments: [cipher.index(key), id])
        }
        summary.rows["pending_delivery_report"] = try await rewrite(table: "pending_delivery_report", key: "rowid", batchSize: batchSize) { db, id in
            let cipher = try FieldCipher.inForce
            let error = try String.fetchOne(db, sql: "SELECT error FROM pending_delivery_report WHERE rowid = ?", arguments: [id])
            try db.execute(sql: "UPDATE pending_delivery_report SET error = ? WHERE rowid = ?", arguments: [try cipher.seal(try cipher.open(error)), id])
        }
        try await checkpointTruncating()
        return summary
    }

    /// Rewrites every row of a table, `batchSize` rows a transaction, in key order.
    private func rewrite(table: String, key: String, batchSize: Int,
                         _ row: @escaping @Sendable (Database, Int64) throws -> Void) async throws -> Int {
        var after: Int64 = .min
        var count = 0
        while true {
            let start = after
            let ids = try await dbWrite { db -> [Int64] in
                let ids = try Int64.fetchAll(db, sql: "SELECT \(key) FROM \(table) WHERE \(key) > ? ORDER BY \(key) LIMIT ?", arguments: [start, batchSize])
                for id in ids { try row(db, id) }
                return ids
            }
            guard let last = ids.last else { return count }
            count += ids.count
            after = last
        }
    }

    /// Writes the WAL back into the database file and empties it, so erased or re-sealed values leave no copy there;
    /// with `mergingSearch`, first merges the search index, so the words of erased texts leave its older segments
    /// too (at a million reports the merge takes the writer for a second or more: only when something was erased).
    public func checkpointTruncating(mergingSearch: Bool = true) async throws {
        if mergingSearch {
            try await dbWrite { db in try db.execute(sql: "INSERT INTO report_search(report_search) VALUES ('optimize')") }
        }
        try await dbWriteWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
    }
}
