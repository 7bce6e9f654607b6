import Foundation
import GRDB

/// What a purge removes or would remove.
public struct PurgeSummary: Sendable, Equatable, CustomStringConvertible {
    /// Closed cases whose raw text and phone numbers are erased (their facts and timeline stay).
    public var anonymisedReports: Int = 0
    public var channelLogEntries: Int = 0
    public var auditEntries: Int = 0
    public var expiredSessions: Int = 0

    public init() {}

    public var description: String {
        "\(anonymisedReports) closed report(s) anonymised, \(channelLogEntries) channel-log entr(ies), \(auditEntries) audit entr(ies), \(expiredSessions) expired session(s)"
    }
}

extension AppDatabase {
    /// Retention: raw text, reporter and companion numbers of cases closed before `closedBefore` are erased — the
    /// case's facts and timeline stay, anonymised; channel and audit logs older than their cut-offs are removed.
    /// With `dryRun`, counts what would go and changes nothing.
    public func purge(closedBefore: Date, channelLogBefore: Date, auditBefore: Date, now: Date, dryRun: Bool) async throws -> PurgeSummary {
        try await dbWrite { db in
            var summary = PurgeSummary()
            let numbers = try Int.fetchAll(db, sql: """
                SELECT number FROM report WHERE status = 'closed' AND closed_at < ? AND (text IS NOT NULL OR reporter IS NOT NULL)
                """, arguments: [closedBefore])
            summary.anonymisedReports = numbers.count
            summary.channelLogEntries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM channel_log WHERE at < ?", arguments: [channelLogBefore]) ?? 0
            summary.auditEntries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE at < ?", arguments: [auditBefore]) ?? 0
            summary.expiredSessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM web_session WHERE expires_at < ?", arguments: [now]) ?? 0
            guard !dryRun else { return summary }
            for number in numbers {
                guard var report = try Report.fetchOne(db, key: number) else { continue }
                report.text = nil
                report.reporter = nil
                report.searchKey = nil
                report.parsed.companion.phone = nil
                report.parsed.note = nil
                try report.update(db)
                try db.execute(sql: "UPDATE inbound_message SET body = NULL, sender = '' WHERE report_number = ?", arguments: [number])
                try db.execute(sql: "UPDATE outbox SET body = '', recipient = '' WHERE report_number = ? AND purpose != 'alert'", arguments: [number])
                try db.execute(sql: "UPDATE outbox SET body = '' WHERE report_number = ? AND purpose = 'alert'", arguments: [number])
                try db.execute(sql: "UPDATE report_event SET detail = NULL WHERE report_number = ? AND kind IN ('note', 'same_child', 'closed', 'home', 'passed')",
                               arguments: [number])
                var event = ReportEvent(reportNumber: number, at: now, kind: "anonymised", actor: "system",
                                        detail: "retention: raw text and phone numbers erased")
                try event.insert(db)
            }
            try db.execute(sql: "DELETE FROM channel_log WHERE at < ?", arguments: [channelLogBefore])
            try db.execute(sql: "DELETE FROM audit_log WHERE at < ?", arguments: [auditBefore])
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at < ?", arguments: [now])
            // Parts of long messages are kept a day after assembly, to recognise a provider's late retry of one.
            try db.execute(sql: "DELETE FROM inbound_part WHERE assembled = 1 AND received_at < ?", arguments: [now.addingTimeInterval(-86400)])
            return summary
        }
    }

    /// A consistent online copy (`VACUUM INTO`), safe while the daemon writes; the target must not exist.
    public func backup(to path: String) async throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw BackupError(message: "'\(path)' already exists: choose a new file name")
        }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        try await dbWriteWithoutTransaction { db in
            try db.execute(sql: "VACUUM INTO ?", arguments: [path])
        }
    }

    public struct BackupError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public func integrityCheck() async throws -> String {
        try await dbRead { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") ?? "no answer" }
    }
}
