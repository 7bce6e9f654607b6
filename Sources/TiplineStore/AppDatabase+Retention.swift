import Foundation
import GRDB

/// How long each kind of personal data is kept (docs/operations.md, "Retention": a row per table).
public struct RetentionPolicy: Sendable, Equatable {
    /// A closed case's personal values are erased this long after closing.
    public var closedCaseDays = 365
    /// A case never closed (open, partial, unknown): staff are warned at this age…
    public var unclosedWarnDays = 90
    /// …and its personal values are erased at this one.
    public var unclosedCaseDays = 180
    /// Messages and answers tied to no report (commands, help, refused follow-ups), finished USSD sessions' answers
    /// beyond the report they made, group-warning keys, early delivery reports.
    public var unlinkedDays = 30
    public var channelLogDays = 30
    public var auditLogDays = 730

    public init() {}

    func cutoff(_ days: Int, _ now: Date) -> Date { now.addingTimeInterval(-Double(days) * 86400) }
}

/// What a purge or an erasure removes or would remove.
public struct PurgeSummary: Sendable, Equatable, CustomStringConvertible {
    /// Cases whose personal values are erased (their facts and timeline stay).
    public var anonymisedReports: Int = 0
    /// Cases never closed that reached the warning age (a timeline entry tells staff).
    public var warnedReports: Int = 0
    public var unlinkedMessages: Int = 0
    public var ussdSessions: Int = 0
    public var channelLogEntries: Int = 0
    public var auditEntries: Int = 0
    public var expiredSessions: Int = 0

    public init() {}

    public var description: String {
        "\(anonymisedReports) report(s) anonymised, \(warnedReports) unclosed report(s) warned, \(unlinkedMessages) unlinked message(s), "
            + "\(ussdSessions) USSD session(s), \(channelLogEntries) channel-log entr(ies), \(auditEntries) audit entr(ies), \(expiredSessions) expired sign-in session(s)"
    }
}

extension AppDatabase {
    /// Retention, table by table (the table in docs/operations.md): personal values of closed cases, and of cases
    /// never closed past their maximum age, are erased — their facts and timeline stay, anonymised; messages tied to
    /// no report, USSD sessions, group-warning keys and logs expire. Erased values are overwritten (`secure_delete`)
    /// and the WAL is truncated after. With `dryRun`, counts what would go and changes nothing.
    ///
    /// What is due is found in a read (the writer stays free), then cases are anonymised `batchSize` to a transaction,
    /// each checked again in it: the intake's writes go between batches, so a first purge of years of cases does not
    /// hold the one writer for minutes while webhooks wait.
    public func purge(_ policy: RetentionPolicy, now: Date, dryRun: Bool, batchSize: Int = 200) async throws -> PurgeSummary {
        let closedSQL = "status = 'closed' AND closed_at < ? AND (text IS NOT NULL OR reporter IS NOT NULL)"
        let closedCutoff = policy.cutoff(policy.closedCaseDays, now)
        let unclosedSQL = "status != 'closed' AND kind != 'command' AND received_at < ? AND (text IS NOT NULL OR reporter IS NOT NULL)"
        let unclosedCutoff = policy.cutoff(policy.unclosedCaseDays, now)
        let warnSQL = """
            status != 'closed' AND kind != 'command' AND received_at < ? AND received_at >= ?
                AND NOT EXISTS (SELECT 1 FROM report_event e WHERE e.report_number = report.number AND e.kind = 'retention_warning')
            """
        let warnArguments: StatementArguments = [policy.cutoff(policy.unclosedWarnDays, now), unclosedCutoff]
        let unlinked = policy.cutoff(policy.unlinkedDays, now)
        let (closed, unclosed, warn, counts) = try await dbRead { db in
            var summary = PurgeSummary()
            let closed = try Int.fetchAll(db, sql: "SELECT number FROM report WHERE \(closedSQL)", arguments: [closedCutoff])
            let unclosed = try Int.fetchAll(db, sql: "SELECT number FROM report WHERE \(unclosedSQL)", arguments: [unclosedCutoff])
            let warn = try Int.fetchAll(db, sql: "SELECT number FROM report WHERE \(warnSQL)", arguments: warnArguments)
            summary.anonymisedReports = closed.count + unclosed.count
            summary.warnedReports = warn.count
            summary.unlinkedMessages = (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbound_message WHERE report_number IS NULL AND received_at < ?",
                                                        arguments: [unlinked]) ?? 0)
                + (try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM outbox WHERE report_number IS NULL AND created_at < ? AND state NOT IN ('queued', 'sending')
                    """, arguments: [unlinked]) ?? 0)
            summary.ussdSessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ussd_session WHERE updated_at < ?", arguments: [unlinked]) ?? 0
            summary.channelLogEntries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM channel_log WHERE at < ?",
                                                         arguments: [policy.cutoff(policy.channelLogDays, now)]) ?? 0
            summary.auditEntries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM audit_log WHERE at < ?",
                                                    arguments: [policy.cutoff(policy.auditLogDays, now)]) ?? 0
            summary.expiredSessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM web_session WHERE expires_at < ?", arguments: [now]) ?? 0
            return (closed, unclosed, warn, summary)
        }
        guard !dryRun else { return counts }
        var summary = counts
        summary.anonymisedReports = 0
        summary.warnedReports = 0
        // Each batch takes only the cases still due when it runs (one may have been reopened or erased meanwhile).
        func batches(_ numbers: [Int], where condition: String, _ arguments: StatementArguments,
                     _ each: @escaping @Sendable (Database, Int) throws -> Void) async throws -> Int {
            var done = 0
            for start in stride(from: 0, to: numbers.count, by: batchSize) {
                let batch = Array(numbers[start..<min(start + batchSize, numbers.count)])
                done += try await dbWrite { db in
                    let due = try Int.fetchAll(db, sql: "SELECT number FROM report WHERE number IN (\(batch.map(String.init).joined(separator: ","))) AND \(condition)",
                                               arguments: arguments)
                    for number in due { try each(db, number) }
                    return due.count
                }
            }
            return done
        }
        summary.anonymisedReports += try await batches(closed, where: closedSQL, [closedCutoff]) { db, number in
            try Self.anonymise(db, report: number, now: now, reason: "retention: closed more than \(policy.closedCaseDays) days ago")
        }
        summary.anonymisedReports += try await batches(unclosed, where: unclosedSQL, [unclosedCutoff]) { db, number in
            try Self.anonymise(db, report: number, now: now, reason: "retention: never closed, older than \(policy.unclosedCaseDays) days")
        }
        summary.warnedReports = try await batches(warn, where: warnSQL, warnArguments) { db, number in
            var event = ReportEvent(reportNumber: number, at: now, kind: "retention_warning", actor: "system",
                                    detail: "open for \(policy.unclosedWarnDays) days: close it, or its personal details are erased at \(policy.unclosedCaseDays) days")
            try event.insert(db)
        }
        try await dbWrite { db in
            try db.execute(sql: "DELETE FROM inbound_message WHERE report_number IS NULL AND received_at < ?", arguments: [unlinked])
            try db.execute(sql: "DELETE FROM outbox WHERE report_number IS NULL AND created_at < ? AND state NOT IN ('queued', 'sending')", arguments: [unlinked])
            try db.execute(sql: "DELETE FROM ussd_session WHERE updated_at < ?", arguments: [unlinked])
            try db.execute(sql: "DELETE FROM cluster_alert WHERE at < ?", arguments: [unlinked])
            try db.execute(sql: "DELETE FROM pending_delivery_report WHERE at < ?", arguments: [unlinked])
            try db.execute(sql: "DELETE FROM channel_log WHERE at < ?", arguments: [policy.cutoff(policy.channelLogDays, now)])
            try db.execute(sql: "DELETE FROM audit_log WHERE at < ?", arguments: [policy.cutoff(policy.auditLogDays, now)])
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at < ?", arguments: [now])
            // Parts of long messages are kept a day after assembly, to recognise a provider's late retry of one.
            try db.execute(sql: "DELETE FROM inbound_part WHERE assembled = 1 AND received_at < ?", arguments: [now.addingTimeInterval(-86400)])
        }
        try await checkpointTruncating(mergingSearch: summary.anonymisedReports > 0)
        return summary
    }

    /// Erases a case's personal values: the reporter, the raw text, the child's and companion's names, the village,
    /// the companion's phone, free text (note, result, timeline details), the messages and answers about it and
    /// their numbers, its USSD session. What staff count on stays: kind, age, sex, commune, destination, dates, status.
    static func anonymise(_ db: Database, report number: Int, now: Date, reason: String) throws {
        guard var report = try Report.fetchOne(db, key: number) else { return }
        report.text = nil
        report.reporter = nil
        report.searchKey = nil
        report.result = nil
        report.parsed.child.name = nil
        report.parsed.companion = .init()
        report.parsed.origin.village = nil
        report.parsed.origin.text = nil
        report.parsed.destination.text = nil
        report.parsed.note = nil
        report.encodedParsed = nil
        try report.update(db)
        try db.execute(sql: "UPDATE report SET reporter_index = NULL, child_key = NULL, companion_phone = NULL WHERE number = ?", arguments: [number])
        try db.execute(sql: "UPDATE inbound_message SET body = NULL, sender = '', sender_index = NULL WHERE report_number = ?", arguments: [number])
        // Officers' numbers stay on alerts (they are the roster's); every other recipient and every text goes.
        try db.execute(sql: "UPDATE outbox SET body = '', recipient = '', recipient_index = NULL, last_error = NULL WHERE report_number = ? AND purpose != 'alert'",
                       arguments: [number])
        try db.execute(sql: "UPDATE outbox SET body = '', last_error = NULL WHERE report_number = ? AND purpose = 'alert'", arguments: [number])
        // A bundle that listed this case carries its details too.
        try db.execute(sql: "UPDATE outbox SET body = '' WHERE id IN (SELECT bundle_id FROM outbox WHERE report_number = ? AND bundle_id IS NOT NULL)",
                       arguments: [number])
        try db.execute(sql: "UPDATE report_event SET detail = NULL WHERE report_number = ? AND kind NOT IN ('routed', 'escalated', 'reminder', 'anonymised')",
                       arguments: [number])
        try db.execute(sql: "UPDATE report_event SET actor = 'reporter' WHERE report_number = ? AND actor LIKE 'reporter %'", arguments: [number])
        try db.execute(sql: "DELETE FROM ussd_session WHERE report_number = ?", arguments: [number])
        var event = ReportEvent(reportNumber: number, at: now, kind: "anonymised", actor: "system", detail: reason)
        try event.insert(db)
    }

    /// Erasure on request: one case (`tipline erase --report N`). Audited by the caller.
    public func erase(report number: Int, now: Date, dryRun: Bool) async throws -> PurgeSummary {
        let summary = try await dbWrite { db -> PurgeSummary in
            var summary = PurgeSummary()
            guard try Report.fetchOne(db, key: number) != nil else { return summary }
            summary.anonymisedReports = 1
            if !dryRun { try Self.anonymise(db, report: number, now: now, reason: "erased on request") }
            return summary
        }
        if !dryRun { try await checkpointTruncating() }
        return summary
    }

    /// Erasure on request: a number (`tipline erase --phone`) — a reporter asking to be forgotten. Every case they
    /// reported is anonymised; their messages, the answers to them and their USSD sessions go; a companion's number
    /// is taken out of every report that names it. Whether they opted out stays, kept only as a blind index.
    public func erase(phone: String, now: Date, dryRun: Bool) async throws -> PurgeSummary {
        let summary = try await dbWrite { db -> PurgeSummary in
            let index = try FieldCipher.inForce.index(phone)
            var summary = PurgeSummary()
            let reported = Set(try Int.fetchAll(db, sql: """
                SELECT number FROM report WHERE reporter_index = ?
                UNION SELECT report_number FROM inbound_message WHERE sender_index = ? AND reported = 1 AND report_number IS NOT NULL
                UNION SELECT report_number FROM ussd_session WHERE phone_index = ? AND report_number IS NOT NULL
                """, arguments: [index, index, index]))
            let companion = try Int.fetchAll(db, sql: "SELECT number FROM report WHERE companion_phone = ?", arguments: [index])
            summary.anonymisedReports = reported.count
            summary.unlinkedMessages = (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbound_message WHERE sender_index = ?", arguments: [index]) ?? 0)
                + (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox WHERE recipient_index = ? AND purpose != 'alert'", arguments: [index]) ?? 0)
            summary.ussdSessions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ussd_session WHERE phone_index = ?", arguments: [index]) ?? 0
            guard !dryRun else { return summary }
            for number in reported.sorted() { try Self.anonymise(db, report: number, now: now, reason: "the reporter asked to be forgotten") }
            for number in companion {
                guard var report = try Report.fetchOne(db, key: number) else { continue }
                report.parsed.companion.phone = nil
                report.encodedParsed = nil
                try report.update(db)
            }
            try db.execute(sql: "DELETE FROM inbound_message WHERE sender_index = ? AND report_number IS NULL", arguments: [index])
            try db.execute(sql: "UPDATE inbound_message SET body = NULL, sender = '', sender_index = NULL WHERE sender_index = ?", arguments: [index])
            try db.execute(sql: "DELETE FROM outbox WHERE recipient_index = ? AND purpose != 'alert' AND state NOT IN ('queued', 'sending')", arguments: [index])
            try db.execute(sql: "UPDATE outbox SET body = '', recipient = '', recipient_index = NULL WHERE recipient_index = ? AND purpose != 'alert'",
                           arguments: [index])
            try db.execute(sql: "DELETE FROM ussd_session WHERE phone_index = ?", arguments: [index])
            try db.execute(sql: "DELETE FROM inbound_part WHERE sender_index = ?", arguments: [index])
            return summary
        }
        if !dryRun { try await checkpointTruncating() }
        return summary
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
