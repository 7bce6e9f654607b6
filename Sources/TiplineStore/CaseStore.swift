import Foundation
import GRDB
import TiplineCore

/// The storage operations of the case workflow, inside one write transaction.
///
/// Every SQL statement that the intake, the officers' commands, the staff actions and the escalation timers run lives
/// here: callers in `TiplineServer` see records and answers, never SQL or a GRDB type. A `CaseStore` exists only
/// for the length of one ``AppDatabase/write(_:)`` or ``WriteBatcher/write(_:)`` closure.
public struct CaseStore {
    let db: Database
    /// The same transaction as statements for either backend (``SQLSession``).
    let sql: any SQLSession

    init(_ db: Database) {
        self.db = db
        self.sql = SQLiteSession(db)
    }

    /// The cipher bound to this transaction (``FieldCipher``).
    var cipher: FieldCipher {
        get throws { try FieldCipher.inForce }
    }

    // MARK: - Inbound messages

    /// Stores an inbound message exactly once per provider message id; false when the provider sent it before
    /// (a retry, even one racing the first delivery).
    public func insertOnce(_ message: inout InboundMessage) throws -> Bool {
        try message.insert(db, onConflict: .ignore)
        return db.changesCount == 1 && message.id != nil
    }

    /// Records which report an inbound message opened or touched; `reported` when it reported the case (its sender
    /// is then one of the case's reporters) rather than being a command about it.
    public func link(inbound id: Int64?, to report: Int, reported: Bool) throws {
        guard let id else { return }
        try db.execute(sql: "UPDATE inbound_message SET report_number = ?, reported = ? WHERE id = ?", arguments: [report, reported, id])
    }

    /// Whether `phone` reported this case: its first reporter, or a sender whose message was merged into it.
    public func isReporter(_ phone: String, of report: Report) throws -> Bool {
        if report.reporter == phone { return true }
        guard let number = report.number else { return false }
        let statement = try db.cachedStatement(sql: """
            SELECT 1 FROM inbound_message WHERE report_number = ? AND sender_index = ? AND reported = 1
            UNION ALL SELECT 1 FROM ussd_session WHERE report_number = ? AND phone_index = ? LIMIT 1
            """)
        let index = try cipher.index(phone)
        return try Bool.fetchOne(statement, arguments: [number, index, number, index]) ?? false
    }

    // MARK: - Limits

    /// Messages received from a number since a date (for the per-sender limit).
    public func inboundCount(from phone: String, since: Date) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM inbound_message WHERE sender_index = ? AND received_at >= ?")
        return try Int.fetchOne(statement, arguments: [try cipher.index(phone), since]) ?? 0
    }

    /// Reports nobody could read from a number since a date.
    public func unreadableCount(from phone: String, since: Date) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM report WHERE reporter_index = ? AND kind = 'unknown' AND received_at >= ?")
        return try Int.fetchOne(statement, arguments: [try cipher.index(phone), since]) ?? 0
    }

    /// Answers (every SMS but officers' alerts) queued to a number since a date.
    public func answerCount(to phone: String, since: Date) throws -> Int {
        let statement = try db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox WHERE recipient_index = ? AND purpose != 'alert' AND created_at >= ?")
        return try Int.fetchOne(statement, arguments: [try cipher.index(phone), since]) ?? 0
    }

    // MARK: - Reports and their timeline

    public func report(_ number: Int) throws -> Report? {
        guard let report = try Report.fetchOne(db, key: number), report.kind != .command else { return nil }
        return report
    }

    public func insert(_ report: inout Report) throws {
        try report.insert(db)
    }

    public func update(_ report: Report) throws {
        try report.update(db)
    }

    public func addEvent(_ number: Int, at: Date, kind: String, actor: String?, detail: String?) throws {
        var event = ReportEvent(reportNumber: number, at: at, kind: kind, actor: actor, detail: detail)
        try event.insert(db)
    }

    /// The newest open case about a child: same folded name, an age in `ages`, same commune, received since `since`.
    public func sameChildCase(areaCode: String, childKey: String, ages: ClosedRange<Int>, since: Date) throws -> Report? {
        let statement = try db.cachedStatement(sql: """
            SELECT * FROM report INDEXED BY report_same_child_open
            WHERE area_code = ? AND child_key = ? AND status IN ('open', 'acknowledged', 'home')
                AND received_at >= ? AND child_age BETWEEN ? AND ?
            ORDER BY number DESC LIMIT 1
            """)
        return try Report.fetchOne(statement, arguments: [areaCode, try cipher.index(childKey), since, ages.lowerBound, ages.upperBound])
    }

    /// Whether a report is urgent and what was read from it: what an alert about it says (one column opened, not
    /// the whole report).
    public func alertFacts(_ number: Int) throws -> (urgent: Bool, parsed: ParsedMessage)? {
        let statement = try db.cachedStatement(sql: "SELECT urgent, parsed FROM report WHERE number = ? AND kind != 'command'")
        guard let row = try Row.fetchOne(statement, arguments: [number]) else { return nil }
        let json = try cipher.open(row["parsed"] as String? ?? "{}")
        return (row["urgent"], try JSONDecoder().decode(ParsedMessage.self, from: Data(json.utf8)))
    }

    /// Tips and alerts from one commune to one destination since a date: how many, and the latest four numbers.
    public func reportsGoing(from areaCode: String, to destinationCode: String, since: Date) throws -> (count: Int, latest: [Int]) {
        try group("area_code = ? AND destination_code = ? AND received_at >= ? AND kind IN ('tip', 'alert')", [areaCode, destinationCode, since])
    }

    /// Reports naming one companion's phone since a date: how many, and the latest four numbers.
    public func reportsNaming(companionPhone: String, since: Date) throws -> (count: Int, latest: [Int]) {
        try group("companion_phone = ? AND received_at >= ?", [try cipher.index(companionPhone), since])
    }

    /// Indexed queries: these run on every tip.
    private func group(_ condition: String, _ arguments: StatementArguments) throws -> (count: Int, latest: [Int]) {
        let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM report WHERE \(condition)"), arguments: arguments) ?? 0
        guard count >= 2 else { return (count, []) }
        let numbers = try Int.fetchAll(db.cachedStatement(sql: "SELECT number FROM report WHERE \(condition) ORDER BY number DESC LIMIT 4"),
                                       arguments: arguments)
        return (count, numbers.reversed())
    }

    /// When a group warning with this key last went out.
    public func lastGroupWarning(key: String) throws -> Date? {
        try Date.fetchOne(db.cachedStatement(sql: "SELECT at FROM cluster_alert WHERE key = ?"), arguments: [try cipher.index(key)])
    }

    /// Keys name a companion's phone: stored by their blind index.
    public func recordGroupWarning(key: String, at: Date, reports: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO cluster_alert (key, at, reports) VALUES (?, ?, ?)", arguments: [try cipher.index(key), at, reports])
    }

    /// Open cases an officer holds or covers, urgent first, newest first.
    public func openCases(heldBy officerID: String, areas: [String], provinces: [String], limit: Int) throws -> [Report] {
        try Report
            .filter([Report.Status.open, .acknowledged, .home].contains(Report.Columns.status))
            .filter(Report.Columns.assignedTo == officerID || areas.contains(Report.Columns.areaCode)
                    || provinces.contains(Report.Columns.provinceCode))
            .order(Report.Columns.urgent.desc, Report.Columns.number.desc)
            .limit(limit)
            .fetchAll(db)
    }

    /// Cases whose escalation or reminder timer is due.
    public func dueTimers(now: Date, limit: Int) throws -> [Report] {
        try Report
            .filter(Report.Columns.nextEscalationAt <= now)
            .filter([Report.Status.open, .acknowledged, .home].contains(Report.Columns.status))
            .filter(Report.Columns.callNow == false)
            .order(Report.Columns.nextEscalationAt)
            .limit(limit)
            .fetchAll(db)
    }

    // MARK: - Outbox

    public func enqueue(_ message: inout OutboundMessage) throws {
        try message.insert(db)
    }

    public func update(_ message: OutboundMessage) throws {
        try message.update(db)
    }

    /// The numbers that were sent an alert about a report (by routing, escalation or reassignment).
    public func alertedRecipients(report number: Int) throws -> Set<String> {
        let statement = try db.cachedStatement(sql: "SELECT recipient FROM outbox WHERE report_number = ? AND purpose = 'alert'")
        let cipher = try self.cipher
        return Set(try String.fetchAll(statement, arguments: [number]).map { try cipher.open($0) })
    }

    /// Whether `phone` was sent an alert about a report.
    public func wasAlerted(_ phone: String, report number: Int) throws -> Bool {
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM outbox WHERE report_number = ? AND purpose = 'alert' AND recipient_index = ? LIMIT 1")
        return try Bool.fetchOne(statement, arguments: [number, try cipher.index(phone)]) ?? false
    }

    /// The reports of the latest alerts that left for `phone`, newest first (a bare `NHAN` takes the first one still
    /// open; an alert still waiting to leave is not one the officer has read).
    public func recentlyAlertedReports(to phone: String, since: Date, limit: Int = 20) throws -> [Int] {
        let statement = try db.cachedStatement(sql: """
            SELECT report_number FROM outbox WHERE recipient_index = ? AND purpose = 'alert' AND report_number IS NOT NULL AND created_at >= ?
                AND state NOT IN ('queued', 'sending')
                AND (bundle_id IS NULL OR bundle_id IN (SELECT id FROM outbox WHERE state NOT IN ('queued', 'sending')))
            ORDER BY id DESC LIMIT ?
            """)
        return try Int.fetchAll(statement, arguments: [try cipher.index(phone), since, limit])
    }

    /// The newest alert to `phone` created since a date that is not yet on its way (held for bundling or quiet hours).
    public func heldAlert(to phone: String, channel: String, now: Date) throws -> OutboundMessage? {
        let statement = try db.cachedStatement(sql: """
            SELECT * FROM outbox INDEXED BY outbox_held_alert
            WHERE recipient_index = ? AND channel = ? AND purpose = 'alert' AND state = 'queued' AND attempts = 0
                AND bundleable = 1 AND next_attempt_at > ? ORDER BY id DESC LIMIT 1
            """)
        return try OutboundMessage.fetchOne(statement, arguments: [try cipher.index(phone), channel, now])
    }

    /// How many alerts are bundled into an outbox row, and the reports of the first `limit` of them, urgent ones
    /// first (a bundle's text lists a few; it never reads every case of a long bundle again).
    public func bundleMembers(_ id: Int64, limit: Int) throws -> (count: Int, listed: [Int]) {
        let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM outbox WHERE bundle_id = ?"), arguments: [id]) ?? 0
        let listed = try Int.fetchAll(db.cachedStatement(sql: """
            SELECT o.report_number FROM outbox o JOIN report r ON r.number = o.report_number
            WHERE o.bundle_id = ? ORDER BY r.urgent DESC, o.id LIMIT ?
            """), arguments: [id, limit])
        return (count, listed)
    }

    /// When the latest alert to `phone` leaves or left (its attempt time), if that is since `since`.
    public func lastAlertDue(to phone: String, since: Date) throws -> Date? {
        let statement = try db.cachedStatement(sql: """
            SELECT next_attempt_at FROM outbox WHERE recipient_index = ? AND purpose = 'alert' AND next_attempt_at >= ? AND state != 'bundled'
            ORDER BY next_attempt_at DESC LIMIT 1
            """)
        return try Date.fetchOne(statement, arguments: [try cipher.index(phone), since])
    }

    // MARK: - Opt-out and duty

    public func isOptedOut(_ phone: String) throws -> Bool {
        try AppDatabase.isOptedOut(db, phone: phone)
    }

    public func setOptOut(_ phone: String, optedOut: Bool, at: Date) throws {
        try AppDatabase.setOptOut(db, phone: phone, optedOut: optedOut, at: at)
    }

    public func dutyOverrides(now: Date) throws -> (on: Set<String>, off: Set<String>) {
        try AppDatabase.dutyOverrides(db, now: now)
    }

    public func setDutyOverride(officerID: String, onDuty: Bool, until: Date) throws {
        try AppDatabase.setDutyOverride(db, officerID: officerID, onDuty: onDuty, until: until)
    }

    // MARK: - Roster numbers

    /// The roster entries (officer id and phone) whose number has confirmed its invitation.
    public func confirmedRosterNumbers() throws -> Set<RosterNumber> {
        let statement = try db.cachedStatement(sql: "SELECT officer_id, phone FROM roster_confirmation WHERE confirmed_at IS NOT NULL")
        return Set(try Row.fetchAll(statement).map { RosterNumber(officerID: $0["officer_id"], phone: $0["phone"]) })
    }

    /// The roster entries that were ever invited, confirmed or not.
    public func invitedRosterNumbers() throws -> Set<RosterNumber> {
        Set(try Row.fetchAll(db, sql: "SELECT officer_id, phone FROM roster_confirmation").map { RosterNumber(officerID: $0["officer_id"], phone: $0["phone"]) })
    }

    public func recordInvitation(_ number: RosterNumber, code: String, at: Date) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO roster_confirmation (officer_id, phone, code, invited_at) VALUES (?, ?, ?, ?)",
                       arguments: [number.officerID, number.phone, code, at])
    }

    /// Confirms a roster number with its invitation's code; false when the code is not that number's.
    public func confirm(_ number: RosterNumber, code: String, at: Date) throws -> Bool {
        try db.execute(sql: "UPDATE roster_confirmation SET confirmed_at = COALESCE(confirmed_at, ?) WHERE officer_id = ? AND phone = ? AND code = ?",
                       arguments: [at, number.officerID, number.phone, code])
        return db.changesCount == 1
    }

    // MARK: - Audit

    /// An entry in the audit log (who did or tried what); never a child's detail.
    public func audit(actor: String, role: String, action: String, target: String?, detail: String?, at: Date) throws {
        try db.execute(sql: "INSERT INTO audit_log (at, actor, role, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [at, actor, role, action, target, detail])
    }

    // MARK: - Long messages in parts

    /// Stores one part, exactly once per provider message id; false for a retried part.
    public func insertPart(channel: String, sender: String, reference: String, total: Int, number: Int, text: String,
                           providerMessageID: String, at: Date) throws -> Bool {
        let cipher = try self.cipher
        try db.execute(sql: """
            INSERT OR IGNORE INTO inbound_part (channel, sender, sender_index, reference, total, number, text, received_at, provider_message_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [channel, try cipher.seal(sender), cipher.index(sender), reference, total, number, try cipher.seal(text), at, providerMessageID])
        return db.changesCount == 1
    }

    /// One part of a long message, as stored.
    public struct Part: Sendable {
        public var number: Int
        public var text: String
        public var providerMessageID: String
    }

    /// The parts of one message not yet assembled, one per part number, in order.
    public func pendingParts(channel: String, sender: String, reference: String) throws -> [Part] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT number, text, provider_message_id FROM inbound_part
            WHERE channel = ? AND sender_index = ? AND reference = ? AND assembled = 0 ORDER BY number, id
            """, arguments: [channel, try cipher.index(sender), reference])
        let cipher = try self.cipher
        var parts: [Part] = []
        for row in rows {
            let part = Part(number: row["number"], text: try cipher.open(row["text"] as String), providerMessageID: row["provider_message_id"])
            if parts.last?.number != part.number { parts.append(part) } // a part repeated under another id counts once
        }
        return parts
    }

    /// Marks a message's parts assembled: kept (so a provider's late retry of a part is still known) until retention.
    public func markPartsAssembled(channel: String, sender: String, reference: String) throws {
        try db.execute(sql: "UPDATE inbound_part SET assembled = 1 WHERE channel = ? AND sender_index = ? AND reference = ? AND assembled = 0",
                       arguments: [channel, try cipher.index(sender), reference])
    }

    /// Messages whose first part arrived before `cutoff` and which are still incomplete.
    public func staleParts(before cutoff: Date) throws -> [(channel: String, sender: String, reference: String)] {
        let cipher = try self.cipher
        return try Row.fetchAll(db, sql: """
            SELECT channel, MIN(sender) AS sender, reference FROM inbound_part WHERE assembled = 0
            GROUP BY channel, sender_index, reference HAVING MIN(received_at) < ?
            """, arguments: [cutoff])
            .map { (channel: $0["channel"], sender: try cipher.open($0["sender"] as String), reference: $0["reference"]) }
    }

    // MARK: - USSD sessions

    public func ussdSession(id: String) throws -> UssdSessionRecord? {
        let cipher = try self.cipher
        return try Row.fetchOne(db, sql: "SELECT * FROM ussd_session WHERE session_id = ?", arguments: [id]).map { try UssdSessionRecord(row: $0, cipher: cipher) }
    }

    /// Sessions not finished, oldest first.
    public func unfinishedUssdSessions(limit: Int = 500) throws -> [UssdSessionRecord] {
        let cipher = try self.cipher
        return try Row.fetchAll(db, sql: "SELECT * FROM ussd_session WHERE finished = 0 ORDER BY updated_at LIMIT ?", arguments: [limit])
            .map { try UssdSessionRecord(row: $0, cipher: cipher) }
    }

    public func save(_ session: UssdSessionRecord) throws {
        // The phone and every answer typed (a child's name among them) are sealed.
        let cipher = try self.cipher
        let state = try cipher.seal(String(decoding: try JSONEncoder().encode(session.state), as: UTF8.self))
        let responses = try cipher.seal(String(decoding: try JSONEncoder().encode(session.responses), as: UTF8.self))
        try db.execute(sql: """
            INSERT INTO ussd_session (session_id, channel, phone, phone_index, state, last_text, responses, finished, report_number, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(session_id) DO UPDATE SET state = excluded.state, last_text = excluded.last_text, responses = excluded.responses,
                finished = excluded.finished, report_number = excluded.report_number, updated_at = excluded.updated_at
            """, arguments: [session.id, session.channel, try cipher.seal(session.phone), cipher.index(session.phone), state,
                             try cipher.seal(session.lastText), responses, session.finished, session.reportNumber, session.createdAt, session.updatedAt])
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

    init(row: Row, cipher: FieldCipher) throws {
        id = row["session_id"]
        channel = row["channel"]
        phone = try cipher.open(row["phone"] as String)
        state = (try? JSONDecoder().decode(UssdState.self, from: Data(try cipher.open(row["state"] as String).utf8))) ?? UssdState()
        lastText = try cipher.open(row["last_text"] as String)
        responses = (try? JSONDecoder().decode([String: String].self, from: Data(try cipher.open(row["responses"] as String).utf8))) ?? [:]
        finished = row["finished"]
        reportNumber = row["report_number"]
        createdAt = row["created_at"]
        updatedAt = row["updated_at"]
    }
}

extension AppDatabase {
    /// Runs `work` in one write transaction of its own (staff actions, timers, USSD).
    public func write<T: Sendable>(_ work: @escaping @Sendable (CaseStore) throws -> T) async throws -> T {
        try await dbWrite { db in try work(CaseStore(db)) }
    }

    /// The roster numbers that confirmed their invitation (for the duty page).
    public func confirmedRosterNumbers() async throws -> Set<RosterNumber> {
        try await dbRead { db in try CaseStore(db).confirmedRosterNumbers() }
    }

    /// Duty toggles in force now (for the duty page).
    public func dutyOverrides(now: Date) async throws -> (on: Set<String>, off: Set<String>) {
        let result = try await dbRead { db in try AppDatabase.dutyOverrides(db, now: now) }
        return result
    }
}
