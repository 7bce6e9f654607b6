import Foundation
import GRDB
import TiplineCore

/// The storage operations of the case workflow, inside one write transaction.
///
/// Every SQL statement that the intake, the officers' commands, the staff actions and the escalation timers run lives
/// here: callers in `TiplineServer` see records and answers, never SQL or a GRDB type. A `CaseStore` exists only
/// for the length of one ``AppDatabase/write(_:)`` or ``WriteBatcher/write(_:)`` closure.
public struct CaseStore {
    /// The transaction's statements, on SQLite or PostgreSQL (``SQLSession``): each statement here is written once.
    let sql: any SQLSession

    init(_ sql: any SQLSession) {
        self.sql = sql
    }

    init(_ db: Database) {
        self.init(SQLiteSession(db))
    }

    /// `INDEXED BY name` on SQLite, where the planner needs the hint; nothing on PostgreSQL.
    func indexedBy(_ name: String) -> String {
        sql.dialect == .sqlite ? "INDEXED BY \(name)" : ""
    }

    /// The cipher bound to this transaction (``FieldCipher``).
    var cipher: FieldCipher {
        get throws { try FieldCipher.inForce }
    }

    // MARK: - Inbound messages

    /// Stores an inbound message exactly once per provider message id; false when the provider sent it before
    /// (a retry, even one racing the first delivery).
    public func insertOnce(_ message: inout InboundMessage) throws -> Bool {
        guard let id = try sql.insert(message, onConflictDoNothing: true) else { return false }
        message.id = id
        message.sealed = nil // as GRDB's didInsert did: the stored forms are the row's now
        return true
    }

    /// Records which report an inbound message opened or touched; `reported` when it reported the case (its sender
    /// is then one of the case's reporters) rather than being a command about it.
    public func link(inbound id: Int64?, to report: Int, reported: Bool) throws {
        guard let id else { return }
        try sql.execute("UPDATE inbound_message SET report_number = ?, reported = ? WHERE id = ?", report, reported, id)
    }

    /// Whether `phone` reported this case: its first reporter, or a sender whose message was merged into it.
    public func isReporter(_ phone: String, of report: Report) throws -> Bool {
        if report.reporter == phone { return true }
        guard let number = report.number else { return false }
        let index = try cipher.index(phone)
        return try sql.row("""
            SELECT 1 FROM inbound_message WHERE report_number = ? AND sender_index = ? AND reported = 1
            UNION ALL SELECT 1 FROM ussd_session WHERE report_number = ? AND phone_index = ? LIMIT 1
            """, number, index, number, index) != nil
    }

    // MARK: - Limits

    /// Messages received from a number since a date (for the per-sender limit).
    public func inboundCount(from phone: String, since: Date) throws -> Int {
        try sql.value("SELECT COUNT(*) FROM inbound_message WHERE sender_index = ? AND received_at >= ?", try cipher.index(phone), since).int ?? 0
    }

    /// Reports nobody could read from a number since a date.
    public func unreadableCount(from phone: String, since: Date) throws -> Int {
        try sql.value("SELECT COUNT(*) FROM report WHERE reporter_index = ? AND kind = 'unknown' AND received_at >= ?", try cipher.index(phone), since).int ?? 0
    }

    /// Answers (every SMS but officers' alerts) queued to a number since a date.
    public func answerCount(to phone: String, since: Date) throws -> Int {
        try sql.value("SELECT COUNT(*) FROM outbox WHERE recipient_index = ? AND purpose != 'alert' AND created_at >= ?", try cipher.index(phone), since).int ?? 0
    }

    // MARK: - Reports and their timeline

    public func report(_ number: Int) throws -> Report? {
        guard let report = try sql.fetch(Report.self, key: number), report.kind != .command else { return nil }
        return report
    }

    public func insert(_ report: inout Report) throws {
        report.number = try sql.insert(report).map(Int.init)
        report.sealed = nil // as GRDB's didInsert did
    }

    public func update(_ report: Report) throws {
        try sql.update(report)
    }

    public func addEvent(_ number: Int, at: Date, kind: String, actor: String?, detail: String?) throws {
        try sql.insert(ReportEvent(reportNumber: number, at: at, kind: kind, actor: actor, detail: detail))
    }

    /// The newest open case about a child: same folded name, an age in `ages`, same commune, received since `since`.
    public func sameChildCase(areaCode: String, childKey: String, ages: ClosedRange<Int>, since: Date) throws -> Report? {
        try sql.fetchOne(Report.self, """
            SELECT * FROM report \(indexedBy("report_same_child_open"))
            WHERE area_code = ? AND child_key = ? AND status IN ('open', 'acknowledged', 'home')
                AND received_at >= ? AND child_age BETWEEN ? AND ?
            ORDER BY number DESC LIMIT 1
            """, areaCode, try cipher.index(childKey), since, ages.lowerBound, ages.upperBound)
    }

    /// Whether a report is urgent and what was read from it: what an alert about it says (one column opened, not
    /// the whole report).
    public func alertFacts(_ number: Int) throws -> (urgent: Bool, parsed: ParsedMessage)? {
        guard let row = try sql.row("SELECT urgent, parsed FROM report WHERE number = ? AND kind != 'command'", number) else { return nil }
        let json = try cipher.open(row["parsed"].string ?? "{}")
        return (row["urgent"].bool ?? false, try JSONDecoder().decode(ParsedMessage.self, from: Data(json.utf8)))
    }

    /// Tips and alerts from one commune to one destination since a date: how many, and the latest four numbers.
    public func reportsGoing(from areaCode: String, to destinationCode: String, since: Date) throws -> (count: Int, latest: [Int]) {
        try group("area_code = ? AND destination_code = ? AND received_at >= ? AND kind IN ('tip', 'alert')", [.text(areaCode), .text(destinationCode), .date(since)])
    }

    /// Reports naming one companion's phone since a date: how many, and the latest four numbers.
    public func reportsNaming(companionPhone: String, since: Date) throws -> (count: Int, latest: [Int]) {
        try group("companion_phone = ? AND received_at >= ?", [.text(try cipher.index(companionPhone)), .date(since)])
    }

    /// Indexed queries: these run on every tip.
    private func group(_ condition: String, _ arguments: [SQLValue]) throws -> (count: Int, latest: [Int]) {
        let count = try sql.rows("SELECT COUNT(*) FROM report WHERE \(condition)", arguments).first?[0].int ?? 0
        guard count >= 2 else { return (count, []) }
        let numbers = try sql.rows("SELECT number FROM report WHERE \(condition) ORDER BY number DESC LIMIT 4", arguments).compactMap { $0[0].int }
        return (count, numbers.reversed())
    }

    /// When a group warning with this key last went out.
    public func lastGroupWarning(key: String) throws -> Date? {
        try sql.value("SELECT at FROM cluster_alert WHERE key = ?", try cipher.index(key)).date
    }

    /// Keys name a companion's phone: stored by their blind index.
    public func recordGroupWarning(key: String, at: Date, reports: String) throws {
        try sql.execute("""
            INSERT INTO cluster_alert (key, at, reports) VALUES (?, ?, ?)
            ON CONFLICT (key) DO UPDATE SET at = excluded.at, reports = excluded.reports
            """, try cipher.index(key), at, reports)
    }

    /// Open cases an officer holds or covers, urgent first, newest first.
    public func openCases(heldBy officerID: String, areas: [String], provinces: [String], limit: Int) throws -> [Report] {
        let areaList = areas.isEmpty ? "NULL" : Array(repeating: "?", count: areas.count).joined(separator: ", ")
        let provinceList = provinces.isEmpty ? "NULL" : Array(repeating: "?", count: provinces.count).joined(separator: ", ")
        return try sql.rows("""
            SELECT * FROM report WHERE status IN ('open', 'acknowledged', 'home')
                AND (assigned_to = ? OR area_code IN (\(areaList)) OR province_code IN (\(provinceList)))
            ORDER BY urgent DESC, number DESC LIMIT ?
            """, [.text(officerID)] + areas.map(SQLValue.text) + provinces.map(SQLValue.text) + [limit.sqlValue]).map(Report.init(sqlRow:))
    }

    /// Cases whose escalation or reminder timer is due.
    public func dueTimers(now: Date, limit: Int) throws -> [Report] {
        try sql.fetchAll(Report.self, """
            SELECT * FROM report WHERE next_escalation_at <= ? AND status IN ('open', 'acknowledged', 'home') AND call_now = 0
            ORDER BY next_escalation_at LIMIT ?
            """, now, limit)
    }

    // MARK: - Outbox

    public func enqueue(_ message: inout OutboundMessage) throws {
        message.id = try sql.insert(message)
    }

    public func update(_ message: OutboundMessage) throws {
        try sql.update(message)
    }

    /// The numbers that were sent an alert about a report (by routing, escalation or reassignment).
    public func alertedRecipients(report number: Int) throws -> Set<String> {
        let cipher = try self.cipher
        return Set(try sql.rows("SELECT recipient FROM outbox WHERE report_number = ? AND purpose = 'alert'", number).compactMap { try cipher.open($0[0].string) })
    }

    /// Whether `phone` was sent an alert about a report.
    public func wasAlerted(_ phone: String, report number: Int) throws -> Bool {
        try sql.row("SELECT 1 FROM outbox WHERE report_number = ? AND purpose = 'alert' AND recipient_index = ? LIMIT 1", number, try cipher.index(phone)) != nil
    }

    /// The reports of the latest alerts that left for `phone`, newest first (a bare `NHAN` takes the first one still
    /// open; an alert still waiting to leave is not one the officer has read).
    public func recentlyAlertedReports(to phone: String, since: Date, limit: Int = 20) throws -> [Int] {
        try sql.rows("""
            SELECT report_number FROM outbox WHERE recipient_index = ? AND purpose = 'alert' AND report_number IS NOT NULL AND created_at >= ?
                AND state NOT IN ('queued', 'sending')
                AND (bundle_id IS NULL OR bundle_id IN (SELECT id FROM outbox WHERE state NOT IN ('queued', 'sending')))
            ORDER BY id DESC LIMIT ?
            """, try cipher.index(phone), since, limit).compactMap { $0[0].int }
    }

    /// The newest alert to `phone` created since a date that is not yet on its way (held for bundling or quiet hours).
    public func heldAlert(to phone: String, channel: String, now: Date) throws -> OutboundMessage? {
        try sql.fetchOne(OutboundMessage.self, """
            SELECT * FROM outbox \(indexedBy("outbox_held_alert"))
            WHERE recipient_index = ? AND channel = ? AND purpose = 'alert' AND state = 'queued' AND attempts = 0
                AND bundleable = 1 AND next_attempt_at > ? ORDER BY id DESC LIMIT 1
            """, try cipher.index(phone), channel, now)
    }

    /// How many alerts are bundled into an outbox row, and the reports of the first `limit` of them, urgent ones
    /// first (a bundle's text lists a few; it never reads every case of a long bundle again).
    public func bundleMembers(_ id: Int64, limit: Int) throws -> (count: Int, listed: [Int]) {
        let count = try sql.value("SELECT COUNT(*) FROM outbox WHERE bundle_id = ?", id).int ?? 0
        let listed = try sql.rows("""
            SELECT o.report_number FROM outbox o JOIN report r ON r.number = o.report_number
            WHERE o.bundle_id = ? ORDER BY r.urgent DESC, o.id LIMIT ?
            """, id, limit).compactMap { $0[0].int }
        return (count, listed)
    }

    /// When the latest alert to `phone` leaves or left (its attempt time), if that is since `since`.
    public func lastAlertDue(to phone: String, since: Date) throws -> Date? {
        try sql.value("""
            SELECT next_attempt_at FROM outbox WHERE recipient_index = ? AND purpose = 'alert' AND next_attempt_at >= ? AND state != 'bundled'
            ORDER BY next_attempt_at DESC LIMIT 1
            """, try cipher.index(phone), since).date
    }

    // MARK: - Opt-out and duty

    public func isOptedOut(_ phone: String) throws -> Bool {
        try AppDatabase.isOptedOut(sql, phone: phone)
    }

    public func setOptOut(_ phone: String, optedOut: Bool, at: Date) throws {
        try AppDatabase.setOptOut(sql, phone: phone, optedOut: optedOut, at: at)
    }

    public func dutyOverrides(now: Date) throws -> (on: Set<String>, off: Set<String>) {
        try AppDatabase.dutyOverrides(sql, now: now)
    }

    public func setDutyOverride(officerID: String, onDuty: Bool, until: Date) throws {
        try AppDatabase.setDutyOverride(sql, officerID: officerID, onDuty: onDuty, until: until)
    }

    // MARK: - Roster numbers

    /// The roster entries (officer id and phone) whose number has confirmed its invitation.
    public func confirmedRosterNumbers() throws -> Set<RosterNumber> {
        Set(try sql.rows("SELECT officer_id, phone FROM roster_confirmation WHERE confirmed_at IS NOT NULL").map(RosterNumber.init(row:)))
    }

    /// The roster entries that were ever invited, confirmed or not.
    public func invitedRosterNumbers() throws -> Set<RosterNumber> {
        Set(try sql.rows("SELECT officer_id, phone FROM roster_confirmation").map(RosterNumber.init(row:)))
    }

    public func recordInvitation(_ number: RosterNumber, code: String, at: Date) throws {
        try sql.execute("INSERT INTO roster_confirmation (officer_id, phone, code, invited_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        number.officerID, number.phone, code, at)
    }

    /// Confirms a roster number with its invitation's code; false when the code is not that number's.
    public func confirm(_ number: RosterNumber, code: String, at: Date) throws -> Bool {
        try sql.execute("UPDATE roster_confirmation SET confirmed_at = COALESCE(confirmed_at, ?) WHERE officer_id = ? AND phone = ? AND code = ?",
                        at, number.officerID, number.phone, code) == 1
    }

    // MARK: - Audit

    /// An entry in the audit log (who did or tried what); never a child's detail.
    public func audit(actor: String, role: String, action: String, target: String?, detail: String?, at: Date) throws {
        try sql.execute("INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                        at, actor, role, action, target, detail)
    }

    // MARK: - Long messages in parts

    /// Stores one part, exactly once per provider message id; false for a retried part.
    public func insertPart(channel: String, sender: String, reference: String, total: Int, number: Int, text: String,
                           providerMessageID: String, at: Date) throws -> Bool {
        let cipher = try self.cipher
        return try sql.execute("""
            INSERT INTO inbound_part (channel, sender, sender_index, reference, total, number, text, received_at, provider_message_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """, channel, try cipher.seal(sender), cipher.index(sender), reference, total, number, try cipher.seal(text), at, providerMessageID) == 1
    }

    /// One part of a long message, as stored.
    public struct Part: Sendable {
        public var number: Int
        public var text: String
        public var providerMessageID: String
    }

    /// The parts of one message not yet assembled, one per part number, in order.
    public func pendingParts(channel: String, sender: String, reference: String) throws -> [Part] {
        let rows = try sql.rows("""
            SELECT number, text, provider_message_id FROM inbound_part
            WHERE channel = ? AND sender_index = ? AND reference = ? AND assembled = 0 ORDER BY number, id
            """, channel, try cipher.index(sender), reference)
        let cipher = try self.cipher
        var parts: [Part] = []
        for row in rows {
            let part = Part(number: row["number"].int ?? 0, text: try cipher.open(row["text"].string ?? ""), providerMessageID: row["provider_message_id"].string ?? "")
            if parts.last?.number != part.number { parts.append(part) } // a part repeated under another id counts once
        }
        return parts
    }

    /// Marks a message's parts assembled: kept (so a provider's late retry of a part is still known) until retention.
    public func markPartsAssembled(channel: String, sender: String, reference: String) throws {
        try sql.execute("UPDATE inbound_part SET assembled = 1 WHERE channel = ? AND sender_index = ? AND reference = ? AND assembled = 0",
                        channel, try cipher.index(sender), reference)
    }

    /// Messages whose first part arrived before `cutoff` and which are still incomplete.
    public func staleParts(before cutoff: Date) throws -> [(channel: String, sender: String, reference: String)] {
        let cipher = try self.cipher
        return try sql.rows("""
            SELECT channel, MIN(sender) AS sender, reference FROM inbound_part WHERE assembled = 0
            GROUP BY channel, sender_index, reference HAVING MIN(received_at) < ?
            """, cutoff)
            .map { (channel: $0["channel"].string ?? "", sender: try cipher.open($0["sender"].string ?? ""), reference: $0["reference"].string ?? "") }
    }

    // MARK: - USSD sessions

    public func ussdSession(id: String) throws -> UssdSessionRecord? {
        let cipher = try self.cipher
        return try sql.row("SELECT * FROM ussd_session WHERE session_id = ?", id).map { try UssdSessionRecord(row: $0, cipher: cipher) }
    }

    /// Sessions not finished, oldest first.
    public func unfinishedUssdSessions(limit: Int = 500) throws -> [UssdSessionRecord] {
        let cipher = try self.cipher
        return try sql.rows("SELECT * FROM ussd_session WHERE finished = 0 ORDER BY updated_at LIMIT ?", limit)
            .map { try UssdSessionRecord(row: $0, cipher: cipher) }
    }

    public func save(_ session: UssdSessionRecord) throws {
        // The phone and every answer typed (a child's name among them) are sealed.
        let cipher = try self.cipher
        let state = try cipher.seal(String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self))
        let responses = try cipher.seal(String(decoding: try JSONEncoder().encode(session.responses), as: UTF8.self))
        try sql.execute("""
            INSERT INTO ussd_session (session_id, channel, phone, phone_index, state, last_text, responses, finished, report_number, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(session_id) DO UPDATE SET state = excluded.state, last_text = excluded.last_text, responses = excluded.responses,
                finished = excluded.finished, report_number = excluded.report_number, updated_at = excluded.updated_at
            """, session.id, session.channel, try cipher.seal(session.phone), cipher.index(session.phone), state,
            try cipher.seal(session.lastText), responses, session.finished, session.reportNumber, session.createdAt, session.updatedAt)
    }
}

/// A roster entry's number: confirmed per officer and phone, so a changed number proves itself again.
public struct RosterNumber: Hashable, Sendable {
    public var officerID: String
    public var phone: String
    public init(officerID: String, phone: String) {
        self.officerID = officerID
        self.phone = phone
    }

    init(row: SQLRow) {
        self.init(officerID: row["officer_id"].string ?? "", phone: row["phone"].string ?? "")
    }
}

/// One USSD session: its menu state and every answer given, so a replayed request gets the same answer.
public struct UssdSessionRecord: Sendable {
    public var id: String
    public var channel: String
    public var phone: String
    public var state: UssdState
    public var lastText: String
    public var responses: [String: String]
    public var finished: Bool
    public var reportNumber: Int?
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: String, channel: String, phone: String, state: UssdState, lastText: String, responses: [String: String],
                finished: Bool, reportNumber: Int?, createdAt: Date, updatedAt: Date) {
        self.id = id
        self.channel = channel
        self.phone = phone
        self.state = state
        self.lastText = lastText
        self.responses = responses
        self.finished = finished
        self.reportNumber = reportNumber
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    init(row: SQLRow, cipher: FieldCipher) throws {
        guard let id = row["session_id"].string, let createdAt = row["created_at"].date, let updatedAt = row["updated_at"].date else {
            throw SQLError("ussd_session: a required column is missing or unreadable")
        }
        self.id = id
        channel = row["channel"].string ?? ""
        phone = try cipher.open(row["phone"].string ?? "")
        state = (try? JSONDecoder().decode(UssdState.self, from: Data(try cipher.open(row["state"].string ?? "").utf8))) ?? UssdState()
        lastText = try cipher.open(row["last_text"].string ?? "")
        responses = (try? JSONDecoder().decode([String: String].self, from: Data(try cipher.open(row["responses"].string ?? "").utf8))) ?? [:]
        finished = row["finished"].bool ?? false
        reportNumber = row["report_number"].int
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

extension AppDatabase {
    /// Runs `work` in one write transaction of its own (staff actions, timers, USSD).
    public func write<T: Sendable>(_ work: @escaping @Sendable (CaseStore) throws -> T) async throws -> T {
        try await sqlWrite { session in try work(CaseStore(session)) }
    }

    /// The roster numbers that confirmed their invitation (for the duty page).
    public func confirmedRosterNumbers() async throws -> Set<RosterNumber> {
        try await sqlRead { session in try CaseStore(session).confirmedRosterNumbers() }
    }

    /// Duty toggles in force now (for the duty page).
    public func dutyOverrides(now: Date) async throws -> (on: Set<String>, off: Set<String>) {
        let result = try await sqlRead { session in try AppDatabase.dutyOverrides(session, now: now) }
        return result
    }
}
