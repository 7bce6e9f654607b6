import Foundation
import GRDB
import TiplineCore

/// A message waiting in, or sent from, the outbox: the only way an SMS leaves tipline.
public struct OutboundMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SQLRecord {
    public static let databaseTableName = "outbox"
    public static let tableName = "outbox"

    /// `queued → sending → sent → delivered | failed`; `undeliverable` after the last try.
    public enum State: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        case queued, sending, sent, delivered, failed, undeliverable
        /// An alert that leaves inside another one (its `bundleID`): one SMS listing several cases.
        case bundled
    }

    /// Why it is sent.
    public enum Purpose: String, Codable, Sendable, DatabaseValueConvertible {
        /// Acknowledgement of a report to its reporter.
        case acknowledgement
        /// Alert to a duty officer.
        case alert
        /// Any other answer to a message.
        case reply
    }

    public var id: Int64?
    public var channel: String
    public var recipient: String
    public var body: String
    public var purpose: Purpose
    public var reportNumber: Int?
    public var state: State
    public var attempts: Int
    public var nextAttemptAt: Date
    public var providerMessageID: String?
    public var lastError: String?
    public var encoding: SMSText.Encoding
    public var segments: Int
    public var createdAt: Date
    public var sentAt: Date?
    public var updatedAt: Date
    /// For a `bundled` alert: the outbox row whose SMS carries it.
    public var bundleID: Int64?
    /// A case alert, which may carry others in one SMS (reminders, call-now and group warnings never do).
    public var bundleable = false
    /// When a claimed message may leave, as its channel's rate limit booked it (``AppDatabase/claimDueMessages``); not stored.
    public var sendAt: Date? = nil
    /// The claim that took this message to send (``AppDatabase/claimDueMessages``); its outcome is recorded with it.
    /// Written by the claim only.
    public var claimToken: Int64? = nil

    public init(channel: String, recipient: String, body: String, purpose: Purpose, reportNumber: Int?, at: Date) {
        let sms = SMSText(body)
        self.channel = channel
        self.recipient = recipient
        self.body = body
        self.purpose = purpose
        self.reportNumber = reportNumber
        self.state = .queued
        self.attempts = 0
        self.nextAttemptAt = at
        self.encoding = sms.encoding
        self.segments = sms.segments
        self.createdAt = at
        self.updatedAt = at
    }

    enum CodingKeys: String, CodingKey {
        case id, channel, recipient, body, purpose
        case reportNumber = "report_number"
        case state, attempts
        case nextAttemptAt = "next_attempt_at"
        case providerMessageID = "provider_message_id"
        case lastError = "last_error"
        case encoding, segments
        case createdAt = "created_at"
        case sentAt = "sent_at"
        case updatedAt = "updated_at"
        case bundleID = "bundle_id"
    }

    public enum Columns {
        public static let state = Column(CodingKeys.state)
        public static let nextAttemptAt = Column(CodingKeys.nextAttemptAt)
        public static let channel = Column(CodingKeys.channel)
        public static let providerMessageID = Column(CodingKeys.providerMessageID)
        public static let reportNumber = Column(CodingKeys.reportNumber)
        public static let createdAt = Column(CodingKeys.createdAt)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The recipient, the text and the provider's error are sealed (``FieldCipher``); the recipient is found by its
    /// blind index.
    public init(sqlRow row: SQLRow) throws {
        let cipher = try FieldCipher.inForce
        guard let channel = row["channel"].string, let purpose = row["purpose"].decode(Purpose.self), let state = row["state"].decode(State.self),
              let attempts = row["attempts"].int, let nextAttemptAt = row["next_attempt_at"].date,
              let encoding = row["encoding"].decode(SMSText.Encoding.self), let segments = row["segments"].int,
              let createdAt = row["created_at"].date, let updatedAt = row["updated_at"].date else {
            throw SQLError("outbox \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        id = row["id"].int64
        self.channel = channel
        recipient = try cipher.open(row["recipient"].string ?? "")
        body = try cipher.open(row["body"].string ?? "")
        self.purpose = purpose
        reportNumber = row["report_number"].int
        self.state = state
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        providerMessageID = row["provider_message_id"].string
        lastError = try cipher.open(row["last_error"].string)
        self.encoding = encoding
        self.segments = segments
        self.createdAt = createdAt
        sentAt = row["sent_at"].date
        self.updatedAt = updatedAt
        bundleID = row["bundle_id"].int64
        bundleable = row["bundleable"].bool ?? false
        claimToken = row["claim_token"].int64
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    /// Columns written without Codable: replies and alerts are inserted on every report's path.
    public func sqlColumns() throws -> [(String, SQLValue)] {
        let cipher = try FieldCipher.inForce
        let recipient = try cipher.seal(self.recipient), body = try cipher.seal(self.body), lastError = try cipher.seal(self.lastError)
        return [
            ("id", id.sqlValue),
            ("channel", .text(channel)),
            ("recipient", .text(recipient)),
            ("recipient_index", .text(cipher.index(self.recipient))),
            ("body", .text(body)),
            ("purpose", .text(purpose.rawValue)),
            ("report_number", reportNumber.sqlValue),
            ("state", .text(state.rawValue)),
            ("attempts", attempts.sqlValue),
            ("next_attempt_at", .date(nextAttemptAt)),
            ("provider_message_id", providerMessageID.sqlValue),
            ("last_error", lastError.sqlValue),
            ("encoding", .text(encoding.rawValue)),
            ("segments", segments.sqlValue),
            ("created_at", .date(createdAt)),
            ("sent_at", sentAt.sqlValue),
            ("updated_at", .date(updatedAt)),
            ("bundle_id", bundleID.sqlValue),
            ("bundleable", bundleable.sqlValue),
        ]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (name, value) in try sqlColumns() { container[name] = value.databaseValue }
    }

    /// Replaces the text, with its encoding and segment count.
    public mutating func setBody(_ text: String) {
        let sms = SMSText(text)
        body = text
        encoding = sms.encoding
        segments = sms.segments
    }
}

extension SMSText.Encoding: DatabaseValueConvertible {}
