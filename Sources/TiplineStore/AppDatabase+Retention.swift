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
    public func purge(_ policy: RetentionPolicy, now: Date, dryRun: Bool, batchSize: Int = 200, deleteBatch: Int = 5000) async throws -> PurgeSummary {
        let closedSQL = "status = 'closed' AND closed_at < ? AND (text IS NOT NULL OR reporter IS NOT NULL)"
        let closedCutoff = policy.cutoff(policy.closedCaseDays, now)
        let unclosedSQL = "status != 'closed' AND kind != 'command' AND received_at < ? AND (text IS NOT NULL OR reporter IS NOT NULL)"
        let unclosedCutoff = policy.cutoff(policy.unclosedCaseDays, now)
        let warnSQL = """
            status != 'closed' AND kind != 'command' AND received_at < ? AND received_at >= ?
                AND NOT EXISTS (SELECT 1 FROM report_event e WHERE e.report_number = report.number AND e.kind = 'retention_warning')
            """
        let warnArguments: [SQLValue] = [policy.cutoff(policy.unclosedWarnDays, now).sqlValue, unclosedCutoff.sqlValue]
        let unlinked = policy.cutoff(policy.unlinkedDays, now)
        let (closed, unclosed, warn, counts) = try await sqlRead { session in
            var summary = PurgeSummary()
            let closed = try session.rows("SELECT number FROM report WHERE \(closedSQL)", closedCutoff).compactMap { $0[0].int }
            let unclosed = try session.rows("SELECT number FROM report WHERE \(unclosedSQL)", unclosedCutoff).compactMap { $0[0].int }
            let warn = try session.rows("SELECT number FROM report WHERE \(warnSQL)", warnArguments).compactMap { $0[0].int }
            summary.anonymisedReports = closed.count + unclosed.count
            summary.warnedReports = warn.count
            summary.unlinkedMessages = (try session.value("SELECT COUNT(*) FROM inbound_message WHERE report_number IS NULL AND received_at < ?", unlinked).int ?? 0)
                + (try session.value("""
                    SELECT COUNT(*) FROM outbox WHERE report_number IS NULL AND created_at < ? AND state NOT IN ('queued', 'sending')
                    """, unlinked).int ?? 0)
            summary.ussdSessions = try session.value("SELECT COUNT(*) FROM ussd_session WHERE updated_at < ?", unlinked).int ?? 0
            summary.channelLogEntries = try session.value("SELECT COUNT(*) FROM channel_log WHERE at < ?",
                                                          policy.cutoff(policy.channelLogDays, now)).int ?? 0
            summary.auditEntries = try session.value("SELECT COUNT(*) FROM audit_log WHERE at < ?",
                                                     policy.cutoff(policy.auditLogDays, now)).int ?? 0
            summary.expiredSessions = try session.value("SELECT COUNT(*) FROM web_session WHERE expires_at < ?", now).int ?? 0
            return (closed, unclosed, warn, summary)
        }
        guard !dryRun else { return counts }
        var summary = counts
        summary.anonymisedReports = 0
        summary.warnedReports = 0
        // Each batch takes only the cases still due when it runs (one may have been reopened or erased meanwhile).
        // The numbers are bound, not written into the statement: every full batch is the same statement text.
        func batches(_ numbers: [Int], where condition: String, _ arguments: [SQLValue],
                     _ each: @escaping @Sendable (any SQLSession, Int) throws -> Void) async throws -> Int {
            var done = 0
            for start in stride(from: 0, to: numbers.count, by: batchSize) {
                let batch = Array(numbers[start..<min(start + batchSize, numbers.count)])
                done += try await sqlWrite { session in
                    let marks = Array(repeating: "?", count: batch.count).joined(separator: ", ")
                    let due = try session.rows("SELECT number FROM report WHERE number IN (\(marks)) AND \(condition)",
                                               batch.map(\.sqlValue) + arguments).compactMap { $0[0].int }
                    for number in due { try each(session, number) }
                    return due.count
                }
            }
            return done
        }
        summary.anonymisedReports += try await batches(closed, where: closedSQL, [closedCutoff.sqlValue]) { session, number in
            try Self.anonymise(session, report: number, now: now, reason: "retention: closed more than \(policy.closedCaseDays) days ago")
        }
        summary.anonymisedReports += try await batches(unclosed, where: unclosedSQL, [unclosedCutoff.sqlValue]) { session, number in
            try Self.anonymise(session, report: number, now: now, reason: "retention: never closed, older than \(policy.unclosedCaseDays) days")
        }
        summary.warnedReports = try await batches(warn, where: warnSQL, warnArguments) { session, number in
            let event = ReportEvent(reportNumber: number, at: now, kind: "retention_warning", actor: "system",
                                    detail: "open for \(policy.unclosedWarnDays) days: close it, or its personal details are erased at \(policy.unclosedCaseDays) days")
            try session.insert(event)
        }
        // Table by table, a bounded batch per transaction: the first purge of a large database (one moved from SQLite,
        // a long-stopped purge) holds the writer — on PostgreSQL the cluster's write lock — only briefly at a time,
        // and no statement meets PostgreSQL's statement timeout.
        let deletions: [(table: String, condition: String, argument: SQLValue)] = [
            ("inbound_message", "report_number IS NULL AND received_at < ?", unlinked.sqlValue),
            ("outbox", "report_number IS NULL AND created_at < ? AND state NOT IN ('queued', 'sending')", unlinked.sqlValue),
            ("ussd_session", "updated_at < ?", unlinked.sqlValue),
            ("cluster_alert", "at < ?", unlinked.sqlValue),
            ("pending_delivery_report", "at < ?", unlinked.sqlValue),
            ("channel_log", "at < ?", policy.cutoff(policy.channelLogDays, now).sqlValue),
            ("audit_log", "at < ?", policy.cutoff(policy.auditLogDays, now).sqlValue),
            ("web_session", "expires_at < ?", now.sqlValue),
            // Parts of long messages are kept a day after assembly, to recognise a provider's late retry of one.
            ("inbound_part", "assembled = 1 AND received_at < ?", now.addingTimeInterval(-86400).sqlValue),
        ]
        let row = dialect == .sqlite ? "rowid" : "ctid"
        for deletion in deletions {
            while try await sqlWrite({ session in
                try session.execute("""
                    DELETE FROM \(deletion.table) WHERE \(row) IN (SELECT \(row) FROM \(deletion.table) WHERE \(deletion.condition) LIMIT \(deleteBatch))
                    """, deletion.argument)
            }) == deleteBatch {}
        }
        // The search index's merge and the WAL's truncation are SQLite's (FTS5, the WAL file). PostgreSQL keeps no
        // FTS segments (its search index is a GIN index, cleaned by VACUUM) and its WAL is the server's to recycle.
        if dialect == .sqlite { try await checkpointTruncating(mergingSearch: summary.anonymisedReports > 0) }
        return summary
    }

    /// Erases a case's personal values: the reporter, the raw text, the child's and companion's names, the village,
    /// the companion's phone, free text (note, result, timeline details), the messages and answers about it and
    /// their numbers, its USSD session. What staff count on stays: kind, age, sex, commune, destination, dates, status.
    static func anonymise(_ session: any SQLSession, report number: Int, now: Date, reason: String) throws {
        guard var report = try session.fetch(Report.self, key: number) else { return }
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
        try session.update(report)
        try session.execute("UPDATE report SET reporter_index = NULL, child_key = NULL, companion_phone = NULL WHERE number = ?", number)
        try session.execute("UPDATE inbound_message SET body = NULL, sender = '', sender_index = NULL WHERE report_number = ?", number)
        // Officers' numbers stay on alerts (they are the roster's); every other recipient and every text goes.
        try session.execute("UPDATE outbox SET body = '', recipient = '', recipient_index = NULL, last_error = NULL WHERE report_number = ? AND purpose != 'alert'",
                            number)
        try session.execute("UPDATE outbox SET body = '', last_error = NULL WHERE report_number = ? AND purpose = 'alert'", number)
        // A bundle that listed this case carries its details too.
        try session.execute("UPDATE outbox SET body = '' WHERE id IN (SELECT bundle_id FROM outbox WHERE report_number = ? AND bundle_id IS NOT NULL)",
                            number)
        try session.execute("UPDATE report_event SET detail = NULL WHERE report_number = ? AND kind NOT IN ('routed', 'escalated', 'reminder', 'anonymised')",
                            number)
        // A prefix compared exactly, not with LIKE (case-insensitive on SQLite, not on PostgreSQL): the system writes
        // `reporter …` in lower case, and a staff member's name that only looks like it stays on both.
        try session.execute("UPDATE report_event SET actor = 'reporter' WHERE report_number = ? AND substr(actor, 1, 9) = 'reporter '", number)
        try session.execute("DELETE FROM ussd_session WHERE report_number = ?", number)
        let event = ReportEvent(reportNumber: number, at: now, kind: "anonymised", actor: "system", detail: reason)
        try session.insert(event)
    }

    /// Erasure on request: one case (`tipline erase --report N`). Audited by the caller.
    public func erase(report number: Int, now: Date, dryRun: Bool) async throws -> PurgeSummary {
        let (summary, dialect) = try await sqlWrite { session -> (PurgeSummary, SQLDialect) in
            var summary = PurgeSummary()
            guard try session.fetch(Report.self, key: number) != nil else { return (summary, session.dialect) }
            summary.anonymisedReports = 1
            if !dryRun { try Self.anonymise(session, report: number, now: now, reason: "erased on request") }
            return (summary, session.dialect)
        }
        if !dryRun, dialect == .sqlite { try await checkpointTruncating() }
        return summary
    }

    /// Erasure on request: a number (`tipline erase --phone`) — a reporter asking to be forgotten. Every case they
    /// reported is anonymised; their messages, the answers to them and their USSD sessions go; a companion's number
    /// is taken out of every report that names it. Whether they opted out stays, kept only as a blind index.
    public func erase(phone: String, now: Date, dryRun: Bool) async throws -> PurgeSummary {
        let (summary, dialect) = try await sqlWrite { session -> (PurgeSummary, SQLDialect) in
            let index = try FieldCipher.inForce.index(phone)
            var summary = PurgeSummary()
            let reported = Set(try session.rows("""
                SELECT number FROM report WHERE reporter_index = ?
                UNION SELECT report_number FROM inbound_message WHERE sender_index = ? AND reported = 1 AND report_number IS NOT NULL
                UNION SELECT report_number FROM ussd_session WHERE phone_index = ? AND report_number IS NOT NULL
                """, index, index, index).compactMap { $0[0].int })
            let companion = try session.rows("SELECT number FROM report WHERE companion_phone = ?", index).compactMap { $0[0].int }
            summary.anonymisedReports = reported.count
            summary.unlinkedMessages = (try session.value("SELECT COUNT(*) FROM inbound_message WHERE sender_index = ?", index).int ?? 0)
                + (try session.value("SELECT COUNT(*) FROM outbox WHERE recipient_index = ? AND purpose != 'alert'", index).int ?? 0)
            summary.ussdSessions = try session.value("SELECT COUNT(*) FROM ussd_session WHERE phone_index = ?", index).int ?? 0
            guard !dryRun else { return (summary, session.dialect) }
            for number in reported.sorted() { try Self.anonymise(session, report: number, now: now, reason: "the reporter asked to be forgotten") }
            for number in companion {
                guard var report = try session.fetch(Report.self, key: number) else { continue }
                report.parsed.companion.phone = nil
                report.encodedParsed = nil
                try session.update(report)
            }
            try session.execute("DELETE FROM inbound_message WHERE sender_index = ? AND report_number IS NULL", index)
            try session.execute("UPDATE inbound_message SET body = NULL, sender = '', sender_index = NULL WHERE sender_index = ?", index)
            try session.execute("DELETE FROM outbox WHERE recipient_index = ? AND purpose != 'alert' AND state NOT IN ('queued', 'sending')", index)
            try session.execute("UPDATE outbox SET body = '', recipient = '', recipient_index = NULL WHERE recipient_index = ? AND purpose != 'alert'",
                                index)
            try session.execute("DELETE FROM ussd_session WHERE phone_index = ?", index)
            try session.execute("DELETE FROM inbound_part WHERE sender_index = ?", index)
            return (summary, session.dialect)
        }
        if !dryRun, dialect == .sqlite { try await checkpointTruncating() }
        return summary
    }

    /// A consistent online copy (`VACUUM INTO`), safe while the daemon writes; the target must not exist.
    /// SQLite's alone (a file, written outside any transaction): a PostgreSQL database is backed up by the server's
    /// own tools (`pg_dump`, `pg_basebackup`).
    public func backup(to path: String) async throws {
        guard try await sqlRead({ $0.dialect }) == .sqlite else {
            throw BackupError(message: "the database is PostgreSQL: back it up with pg_dump or pg_basebackup")
        }
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

    /// SQLite's `integrity_check` (`ok`, or what is wrong). PostgreSQL has no equivalent statement (its checks are
    /// the `amcheck` extension and `pg_amcheck`): refused there rather than answered `ok`.
    public func integrityCheck() async throws -> String {
        try await sqlRead { session -> String in
            guard session.dialect == .sqlite else { throw SQLError("no integrity check on PostgreSQL: use pg_amcheck") }
            return try session.value("PRAGMA integrity_check").string ?? "no answer"
        }
    }
}
