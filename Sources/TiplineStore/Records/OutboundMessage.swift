import Foundation
import GRDB
import TiplineCore

/// A message waiting in, or sent from, the outbox: the only way an SMS leaves tipline.
public struct OutboundMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "outbox"

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
    public init(row: Row) throws {
        let cipher = try FieldCipher.inForce
        id = row["id"]
        channel = row["channel"]
        recipient = try cipher.open(row["recipient"] as String? ?? "")
        body = try cipher.open(row["body"] as String? ?? "")
        purpose = row["purpose"]
        reportNumber = row["report_number"]
        state = row["state"]
        attempts = row["attempts"]
        nextAttemptAt = row["next_attempt_at"]
        providerMessageID = row["provider_message_id"]
        lastError = try cipher.open(row["last_error"] as String?)
        encoding = row["encoding"]
        segments = row["segments"]
        createdAt = row["created_at"]
        sentAt = row["sent_at"]
        updatedAt = row["updated_at"]
        bundleID = row["bundle_id"]
        bundleable = row["bundleable"] ?? false
    }

    /// Columns written without Codable: replies and alerts are inserted on every report's path.
    public func encode(to container: inout PersistenceContainer) throws {
        let cipher = try FieldCipher.inForce
        container["id"] = id
        container["channel"] = channel
        container["recipient"] = try cipher.seal(recipient)
        container["recipient_index"] = cipher.index(recipient)
        container["body"] = try cipher.seal(body)
        container["purpose"] = purpose
        container["report_number"] = reportNumber
        container["state"] = state
        container["attempts"] = attempts
        container["next_attempt_at"] = nextAttemptAt
        container["provider_message_id"] = providerMessageID
        container["last_error"] = try cipher.seal(lastError)
        container["encoding"] = encoding
        container["segments"] = segments
        container["created_at"] = createdAt
        container["sent_at"] = sentAt
        container["updated_at"] = updatedAt
        container["bundle_id"] = bundleID
        container["bundleable"] = bundleable
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
