import Foundation
import GRDB

// MARK: - Outbox

extension AppDatabase {
    /// Messages ready to send, oldest first, marked `sending` in the same transaction so no two senders take one.
    public func claimDueMessages(now: Date, limit: Int) async throws -> [OutboundMessage] {
        try await dbWrite { db in
            let due = try OutboundMessage
                .filter(OutboundMessage.Columns.state == OutboundMessage.State.queued)
                .filter(OutboundMessage.Columns.nextAttemptAt <= now)
                .order(OutboundMessage.Columns.nextAttemptAt, Column("id"))
                .limit(limit)
                .fetchAll(db)
            guard !due.isEmpty else { return [] }
            let ids = due.compactMap(\.id)
            try db.execute(sql: "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments([now] + ids.map { $0 as (any DatabaseValueConvertible) }))
            let claimed = due.map { message -> OutboundMessage in
                var message = message
                message.state = .sending
                message.attempts += 1
                message.updatedAt = now
                return message
            }
            return claimed
        }
    }

    /// When the next queued message falls due, for the dispatcher's sleep.
    public func nextDueDate() async throws -> Date? {
        try await dbRead { db in
            try Date.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued'")
        }
    }

    /// After a crash or a stop, messages left `sending` go back to the queue: at most one resend, never a loss.
    @discardableResult
    public func requeueInterruptedSends(now: Date) async throws -> Int {
        try await dbWrite { db in
            try db.execute(sql: "UPDATE outbox SET state = 'queued', next_attempt_at = ?, updated_at = ? WHERE state = 'sending'",
                           arguments: [now, now])
            return db.changesCount
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
        public init(id: Int64, state: OutboundMessage.State, providerMessageID: String?, error: String?, nextAttemptAt: Date?,
                    deferred: Bool = false) {
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
        try await dbWrite { db in
            let update = try db.cachedStatement(sql: """
                UPDATE outbox SET state = ?, provider_message_id = COALESCE(?, provider_message_id), last_error = COALESCE(?, CASE WHEN ? THEN last_error END),
                    next_attempt_at = COALESCE(?, next_attempt_at), sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END,
                    attempts = attempts - ?, updated_at = ?
                WHERE id = ? AND state = 'sending'
                """)
            let cipher = try FieldCipher.inForce
            for record in records {
                // Only a message still `sending` is ours to record: a delivery report may have raced ahead.
                try update.execute(arguments: [record.state, record.providerMessageID, try cipher.seal(record.error), record.deferred, record.nextAttemptAt,
                                               record.state.rawValue, now, record.deferred ? 1 : 0, now, record.id])
                guard db.changesCount == 1, record.state != .queued else { continue }
                if let providerID = record.providerMessageID {
                    // A delivery report that raced ahead of this record.
                    let early = try Row.fetchAll(try db.cachedStatement(sql: """
                        DELETE FROM pending_delivery_report WHERE provider_message_id = ?
                            AND channel = (SELECT channel FROM outbox WHERE id = ?) RETURNING state, error
                        """), arguments: [providerID, record.id])
                    for row in early {
                        if let state = OutboundMessage.State(rawValue: row["state"]), let message = try OutboundMessage.fetchOne(db, key: record.id) {
                            _ = try Self.applyDeliveryReport(db, message: message, state: state, error: try cipher.open(row["error"] as String?), now: now)
                        }
                    }
                }
                if let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT report_number FROM outbox WHERE id = ? AND purpose = 'alert'"),
                                              arguments: [record.id]),
                   let number: Int = row["report_number"] {
                    var event = ReportEvent(reportNumber: number, at: now, kind: "alert_\(record.state.rawValue)", actor: "system",
                                            detail: record.error)
                    try event.insert(db)
                    if record.state == .failed || record.state == .undeliverable { try Self.escalateNow(db, report: number, alert: record.id, now: now) }
                }
            }
        }
    }

    /// Applies a provider's delivery report, matched by its message id; late or repeated reports are harmless, and
    /// one that arrives before the send is recorded is kept and applied when it is.
    @discardableResult
    public func recordDeliveryReport(channel: String, providerMessageID: String, state: OutboundMessage.State,
                                     error: String?, now: Date) async throws -> OutboundMessage? {
        try await dbWrite { db in
            guard let message = try OutboundMessage
                .filter(OutboundMessage.Columns.channel == channel && OutboundMessage.Columns.providerMessageID == providerMessageID)
                .fetchOne(db) else {
                try db.execute(sql: """
                    INSERT OR IGNORE INTO pending_delivery_report (channel, provider_message_id, state, error, at) VALUES (?, ?, ?, ?, ?)
                    """, arguments: [channel, providerMessageID, state, try FieldCipher.inForce.seal(error), now])
                return nil
            }
            return try Self.applyDeliveryReport(db, message: message, state: state, error: error, now: now)
        }
    }

    /// An alert that could not be delivered counts as not acknowledged: the case — and every case bundled into the
    /// same SMS — moves to its next level at once.
    static func escalateNow(_ db: Database, report number: Int, alert id: Int64?, now: Date) throws {
        try db.execute(sql: """
            UPDATE report SET next_escalation_at = ? WHERE status = 'open' AND call_now = 0
                AND (number = ? OR number IN (SELECT report_number FROM outbox WHERE bundle_id = ?))
            """, arguments: [now, number, id])
    }

    static let stateRank: [OutboundMessage.State: Int] = [.queued: 0, .sending: 1, .sent: 2, .failed: 3, .undeliverable: 3, .delivered: 4]

    static func applyDeliveryReport(_ db: Database, message: OutboundMessage, state: OutboundMessage.State, error: String?, now: Date) throws -> OutboundMessage {
        var message = message
        guard stateRank[state, default: 0] > stateRank[message.state, default: 0] else { return message }
        message.state = state
        if let error { message.lastError = error }
        message.updatedAt = now
        try message.update(db)
        if let number = message.reportNumber, message.purpose == .alert, state == .delivered || state == .failed {
            var event = ReportEvent(reportNumber: number, at: now, kind: "alert_\(state.rawValue)", actor: "provider", detail: error)
            try event.insert(db)
            if state == .failed { try escalateNow(db, report: number, alert: message.id, now: now) }
        }
        return message
    }

    public func outboundMessages(reportNumber: Int? = nil) async throws -> [OutboundMessage] {
        try await dbRead { db in
            var request = OutboundMessage.order(Column("id"))
            if let reportNumber { request = request.filter(OutboundMessage.Columns.reportNumber == reportNumber) }
            return try request.fetchAll(db)
        }
    }

    /// Counts by state, and the age of the oldest queued message (for health and metrics).
    public func outboxSummary(now: Date) async throws -> (counts: [OutboundMessage.State: Int], oldestQueued: TimeInterval?) {
        try await dbRead { db in
            var counts: [OutboundMessage.State: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") {
                if let state = OutboundMessage.State(rawValue: row["state"]) { counts[state] = row["n"] }
            }
            let oldest = try Date.fetchOne(db, sql: "SELECT MIN(created_at) FROM outbox WHERE state IN ('queued', 'sending')")
            return (counts, oldest.map { now.timeIntervalSince($0) })
        }
    }
}

// MARK: - Opt-out

extension AppDatabase {
    /// Opted-out numbers are kept only as their blind index.
    public static func isOptedOut(_ db: Database, phone: String) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM opt_out WHERE phone = ?"), arguments: [try FieldCipher.inForce.index(phone)]) ?? false
    }

    public static func setOptOut(_ db: Database, phone: String, optedOut: Bool, at: Date) throws {
        let index = try FieldCipher.inForce.index(phone)
        if optedOut {
            try db.execute(sql: "INSERT OR IGNORE INTO opt_out (phone, at) VALUES (?, ?)", arguments: [index, at])
        } else {
            try db.execute(sql: "DELETE FROM opt_out WHERE phone = ?", arguments: [index])
        }
    }
}

// MARK: - Duty overrides (TRUC / NGHI)

extension AppDatabase {
    /// Officers who said `TRUC` (on) or `NGHI` (off), still in force at `now`.
    public static func dutyOverrides(_ db: Database, now: Date) throws -> (on: Set<String>, off: Set<String>) {
        var on = Set<String>(), off = Set<String>()
        for row in try Row.fetchAll(db.cachedStatement(sql: "SELECT officer_id, on_duty FROM duty_override WHERE until > ?"), arguments: [now]) {
            if row["on_duty"] as Bool { on.insert(row["officer_id"]) } else { off.insert(row["officer_id"]) }
        }
        return (on, off)
    }

    public static func setDutyOverride(_ db: Database, officerID: String, onDuty: Bool, until: Date) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO duty_override (officer_id, on_duty, until) VALUES (?, ?, ?)",
                       arguments: [officerID, onDuty, until])
    }
}
