import Foundation
import GRDB

// MARK: - Outbox

extension AppDatabase {
    /// Messages ready to send, oldest first, marked `sending` in the same transaction so no two senders take one.
    ///
    /// A claim holds for `lease` seconds (longer than a send and its record take): a message still `sending` after
    /// that was claimed by an instance that died mid-send, and is claimed again — by another instance of a cluster.
    ///
    /// With `segmentsPerSecond`, each channel's rate limit is booked in the same transaction (`channel_pace`, shared by
    /// every instance): a claimed message gets the time it may leave (`sendAt`), and one whose slot is more than a
    /// second away goes back to the queue until then, its attempt given back.
    public func claimDueMessages(now: Date, limit: Int, lease: TimeInterval = 60, segmentsPerSecond: Double? = nil) async throws -> [OutboundMessage] {
        // PostgreSQL refuses a negative LIMIT (SQLite reads it as none): a claim of nothing is nothing.
        guard limit > 0 else { return [] }
        return try await sqlWrite { session in
            let token = Int64.random(in: 1...Int64.max)
            let claimed = try session.dialect == .postgresql
                ? session.fetchAll(OutboundMessage.self, Self.claimLocking, now, now.addingTimeInterval(lease), token, now, now, limit)
                : session.fetchAll(OutboundMessage.self, Self.claim, now, now.addingTimeInterval(lease), token, now, limit)
                // RETURNING promises no order.
                .sorted { ($0.nextAttemptAt, $0.id ?? 0) < ($1.nextAttemptAt, $1.id ?? 0) }
            guard let segmentsPerSecond, segmentsPerSecond > 0, !claimed.isEmpty else { return claimed }
            return try Self.book(claimed, now: now, segmentsPerSecond: segmentsPerSecond, session)
        }
    }

    /// Books each claimed message's slot in its channel's pace; gives back the claims whose slot is too far off.
    private static func book(_ claimed: [OutboundMessage], now: Date, segmentsPerSecond: Double, _ session: any SQLSession) throws -> [OutboundMessage] {
        var next: [String: Date] = [:]
        for channel in Set(claimed.map(\.channel)) {
            next[channel] = try session.value("SELECT next_at FROM channel_pace WHERE channel = ?", channel).date
        }
        var booked: [OutboundMessage] = []
        for var message in claimed {
            let start = max(now, next[message.channel] ?? now)
            guard start.timeIntervalSince(now) <= 1 else {
                try session.execute("""
                    UPDATE outbox SET state = 'queued', attempts = attempts - 1, next_attempt_at = ?, lease_until = NULL, claim_token = NULL, updated_at = ?
                    WHERE id = ? AND state = 'sending'
                    """, start, now, message.id)
                continue
            }
            next[message.channel] = start.addingTimeInterval(Double(message.segments) / segmentsPerSecond)
            message.sendAt = start
            booked.append(message)
        }
        for (channel, at) in next {
            try session.execute("""
                INSERT INTO channel_pace (channel, next_at) VALUES (?, ?)
                ON CONFLICT (channel) DO UPDATE SET next_at = excluded.next_at
                """, channel, at)
        }
        return booked
    }

    /// The claim in one statement, so that the messages chosen are the ones marked. (SQLite: one server alone on its
    /// file puts its own interrupted sends back when it starts, and no lease runs out under it — a send whose outcome
    /// could not be recorded for a while, the disk full, is not sent again meanwhile.)
    private static let claim = """
        UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?, lease_until = ?, claim_token = ?
        WHERE id IN (SELECT id FROM outbox WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?)
        RETURNING *
        """

    /// On PostgreSQL the chosen rows are also locked, and rows another transaction holds passed over: the cluster's
    /// write lock already serializes claims, this keeps two of them from taking one message without it.
    private static let claimLocking = """
        UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?, lease_until = ?, claim_token = ?
        WHERE id IN (SELECT id FROM outbox WHERE (state = 'queued' AND next_attempt_at <= ?)
                OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= ?))
            ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED)
        RETURNING *
        """

    /// When the next queued message falls due, for the dispatcher's sleep.
    public func nextDueDate() async throws -> Date? {
        try await sqlRead { session in
            // SQLite: the next message due (no lease runs out under a server alone on its file).
            guard session.dialect == .postgresql else {
                return try session.value("SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued'").date
            }
            // PostgreSQL: or the next claim whose lease runs out (a dead instance's message to send again).
            return try session.value("""
                SELECT MIN(due) FROM (SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = 'queued'
                    UNION ALL SELECT MIN(lease_until) AS due FROM outbox WHERE state = 'sending') AS next
                """).date
        }
    }

    /// After a crash or a stop, messages left `sending` go back to the queue: at most one resend, never a loss.
    @discardableResult
    public func requeueInterruptedSends(now: Date) async throws -> Int {
        // On PostgreSQL other instances' sends are in flight: their claims run out by their lease instead.
        guard dialect == .sqlite else { return 0 }
        return try await sqlWrite { session in
            try session.execute("UPDATE outbox SET state = 'queued', next_attempt_at = ?, updated_at = ? WHERE state = 'sending'", now, now)
        }
    }

    /// The outcome of one send, to record.
    public struct SendRecord: Sendable {
        public var id: Int64
        public var state: OutboundMessage.State
        public var providerMessageID: String?
        public var error: String?
        public var nextAttemptAt: Date?
        /// Not tried at all (held back by the channel's rate limit or a shutdown): the claim's attempt is given back.
        public var deferred: Bool
        /// The claim that made the send (``OutboundMessage/claimToken``): its outcome lands only while that claim
        /// still holds the message, never over a later claim of it. Nil: whatever claim holds it.
        public var claim: Int64?
        public init(id: Int64, state: OutboundMessage.State, providerMessageID: String?, error: String?, nextAttemptAt: Date?,
                    deferred: Bool = false, claim: Int64? = nil) {
            self.claim = claim
            self.id = id
            self.state = state
            self.providerMessageID = providerMessageID
            self.error = error
            self.nextAttemptAt = nextAttemptAt
            self.deferred = deferred
        }
    }

    /// Records the outcomes of a batch of sends in one transaction.
    public func recordSendOutcomes(_ records: [SendRecord], now: Date) async throws {
        guard !records.isEmpty else { return }
        try await sqlWrite { session in
            let cipher = try FieldCipher.inForce
            for record in records {
                let error = try cipher.seal(record.error)
                // Only a message still `sending` under this send's claim is ours to record: a delivery report may have
                // raced ahead, or (a cluster) the lease ran out and another instance claimed it again.
                let changed = try session.execute("""
                    UPDATE outbox SET state = ?, provider_message_id = COALESCE(?, provider_message_id), last_error = COALESCE(?, CASE WHEN ? = 1 THEN last_error END),
                        next_attempt_at = COALESCE(?, next_attempt_at), sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,
                        attempts = attempts - ?, updated_at = ?, lease_until = NULL, claim_token = NULL
                    WHERE id = ? AND state = 'sending' AND COALESCE(claim_token, 0) = COALESCE(?, claim_token, 0)
                    """, record.state.rawValue, record.providerMessageID, error, record.deferred, record.nextAttemptAt,
                    record.state.rawValue, now, record.deferred ? 1 : 0, now, record.id, record.claim)
                guard changed == 1, record.state != .queued else { continue }
                if let providerID = record.providerMessageID {
                    // A delivery report that raced ahead of this record.
                    let early = try session.rows("""
                        DELETE FROM pending_delivery_report WHERE provider_message_id = ?
                            AND channel = (SELECT channel FROM outbox WHERE id = ?) RETURNING state, error
                        """, providerID, record.id)
                    for row in early {
                        if let state = row["state"].decode(OutboundMessage.State.self), let message = try session.fetch(OutboundMessage.self, key: record.id) {
                            _ = try Self.applyDeliveryReport(session, message: message, state: state, error: try cipher.open(row["error"].string), now: now)
                        }
                    }
                }
                if let number = try session.row("SELECT report_number FROM outbox WHERE id = ? AND purpose = 'alert'", record.id)?["report_number"].int {
                    let event = ReportEvent(reportNumber: number, at: now, kind: "alert_\(record.state.rawValue)", actor: "system",
                                            detail: record.error)
                    try session.insert(event)
                    if record.state == .failed || record.state == .undeliverable { try Self.escalateNow(session, report: number, alert: record.id, now: now) }
                }
            }
        }
    }

    /// Applies a provider's delivery report, matched by its message id; late or repeated reports are harmless, and
    /// one that arrives before the send is recorded is kept and applied when it is.
    @discardableResult
    public func recordDeliveryReport(channel: String, providerMessageID: String, state: OutboundMessage.State,
                                     error: String?, now: Date) async throws -> OutboundMessage? {
        try await sqlWrite { session in
            guard let message = try session.fetchOne(OutboundMessage.self, "SELECT * FROM outbox WHERE channel = ? AND provider_message_id = ? LIMIT 1",
                                                     channel, providerMessageID) else {
                try session.execute("""
                    INSERT INTO pending_delivery_report (channel, provider_message_id, state, error, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """, channel, providerMessageID, state.rawValue, try FieldCipher.inForce.seal(error), now)
                return nil
            }
            return try Self.applyDeliveryReport(session, message: message, state: state, error: error, now: now)
        }
    }

    /// An alert that could not be delivered counts as not acknowledged: the case — and every case bundled into the
    /// same SMS — moves to its next level at once.
    static func escalateNow(_ session: any SQLSession, report number: Int, alert id: Int64?, now: Date) throws {
        try session.execute("""
            UPDATE report SET next_escalation_at = ? WHERE status = 'open' AND call_now = 0
                AND (number = ? OR number IN (SELECT report_number FROM outbox WHERE bundle_id = ?))
            """, now, number, id)
    }

    static let stateRank: [OutboundMessage.State: Int] = [.queued: 0, .sending: 1, .sent: 2, .failed: 3, .undeliverable: 3, .delivered: 4]

    static func applyDeliveryReport(_ session: any SQLSession, message: OutboundMessage, state: OutboundMessage.State, error: String?,
                                    now: Date) throws -> OutboundMessage {
        var message = message
        guard stateRank[state, default: 0] > stateRank[message.state, default: 0] else { return message }
        message.state = state
        if let error { message.lastError = error }
        message.updatedAt = now
        try session.update(message)
        if let number = message.reportNumber, message.purpose == .alert, state == .delivered || state == .failed {
            let event = ReportEvent(reportNumber: number, at: now, kind: "alert_\(state.rawValue)", actor: "provider", detail: error)
            try session.insert(event)
            if state == .failed { try escalateNow(session, report: number, alert: message.id, now: now) }
        }
        return message
    }

    public func outboundMessages(reportNumber: Int? = nil) async throws -> [OutboundMessage] {
        try await sqlRead { session in
            if let reportNumber {
                return try session.fetchAll(OutboundMessage.self, "SELECT * FROM outbox WHERE report_number = ? ORDER BY id", reportNumber)
            }
            return try session.fetchAll(OutboundMessage.self, "SELECT * FROM outbox ORDER BY id")
        }
    }

    /// Counts by state, and the age of the oldest queued message (for health and metrics).
    public func outboxSummary(now: Date) async throws -> (counts: [OutboundMessage.State: Int], oldestQueued: TimeInterval?) {
        try await sqlRead { session in
            var counts: [OutboundMessage.State: Int] = [:]
            for row in try session.rows("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") {
                if let state = row["state"].decode(OutboundMessage.State.self) { counts[state] = row["n"].int }
            }
            let oldest = try session.value("SELECT MIN(created_at) FROM outbox WHERE state IN ('queued', 'sending')").date
            return (counts, oldest.map { now.timeIntervalSince($0) })
        }
    }
}

// MARK: - Opt-out

extension AppDatabase {
    /// Opted-out numbers are kept only as their blind index.
    public static func isOptedOut(_ db: Database, phone: String) throws -> Bool {
        try isOptedOut(SQLiteSession(db), phone: phone)
    }

    static func isOptedOut(_ session: any SQLSession, phone: String) throws -> Bool {
        let index = try FieldCipher.inForce.index(phone)
        return try session.value("SELECT 1 FROM opt_out WHERE phone = ?", index).bool ?? false
    }

    public static func setOptOut(_ db: Database, phone: String, optedOut: Bool, at: Date) throws {
        try setOptOut(SQLiteSession(db), phone: phone, optedOut: optedOut, at: at)
    }

    static func setOptOut(_ session: any SQLSession, phone: String, optedOut: Bool, at: Date) throws {
        let index = try FieldCipher.inForce.index(phone)
        if optedOut {
            try session.execute("INSERT INTO opt_out (phone, at) VALUES (?, ?) ON CONFLICT DO NOTHING", index, at)
        } else {
            try session.execute("DELETE FROM opt_out WHERE phone = ?", index)
        }
    }
}

// MARK: - Duty overrides (TRUC / NGHI)

extension AppDatabase {
    /// Officers who said `TRUC` (on) or `NGHI` (off), still in force at `now`.
    public static func dutyOverrides(_ db: Database, now: Date) throws -> (on: Set<String>, off: Set<String>) {
        try dutyOverrides(SQLiteSession(db), now: now)
    }

    static func dutyOverrides(_ session: any SQLSession, now: Date) throws -> (on: Set<String>, off: Set<String>) {
        var on = Set<String>(), off = Set<String>()
        for row in try session.rows("SELECT officer_id, on_duty FROM duty_override WHERE until > ?", now) {
            guard let officer = row["officer_id"].string else { continue }
            if row["on_duty"].bool ?? false { on.insert(officer) } else { off.insert(officer) }
        }
        return (on, off)
    }

    public static func setDutyOverride(_ db: Database, officerID: String, onDuty: Bool, until: Date) throws {
        try setDutyOverride(SQLiteSession(db), officerID: officerID, onDuty: onDuty, until: until)
    }

    static func setDutyOverride(_ session: any SQLSession, officerID: String, onDuty: Bool, until: Date) throws {
        try session.execute("""
            INSERT INTO duty_override (officer_id, on_duty, until) VALUES (?, ?, ?)
            ON CONFLICT (officer_id) DO UPDATE SET on_duty = excluded.on_duty, until = excluded.until
            """, officerID, onDuty, until)
    }
}
