import Foundation
import GRDB

/// A message as a provider delivered it, stored before anything is done with it.
public struct InboundMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "inbound_message"

    public var id: Int64?
    public var channel: String
    /// The provider's id for the message (Twilio `MessageSid`): a retry carries the same one.
    public var providerMessageID: String
    /// E.164 sender.
    public var sender: String
    public var recipient: String?
    public var body: String
    public var receivedAt: Date
    /// `sms` or `ussd`.
    public var via: String
    public var reportNumber: Int?

    public init(id: Int64? = nil, channel: String, providerMessageID: String, sender: String, recipient: String?,
                body: String, receivedAt: Date, via: String = "sms", reportNumber: Int? = nil) {
        self.id = id
        self.channel = channel
        self.providerMessageID = providerMessageID
        self.sender = sender
        self.recipient = recipient
        self.body = body
        self.receivedAt = receivedAt
        self.via = via
        self.reportNumber = reportNumber
    }

    enum CodingKeys: String, CodingKey {
        case id, channel
        case providerMessageID = "provider_message_id"
        case sender, recipient, body
        case receivedAt = "received_at"
        case via
        case reportNumber = "report_number"
    }

    public enum Columns {
        public static let channel = Column(CodingKeys.channel)
        public static let providerMessageID = Column(CodingKeys.providerMessageID)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
        sealed = nil
    }

    /// The sender and text sealed ahead of the write transaction (``seal(with:)``), by the key that sealed them.
    var sealed: Sealed?

    struct Sealed: Sendable, Equatable {
        var keyID: String?
        var sender: String
        var senderIndex: String
        var body: String
    }

    /// Seals the sender and the text now, outside the single writer.
    public mutating func seal(with cipher: FieldCipher) throws {
        sealed = Sealed(keyID: cipher.current, sender: try cipher.seal(sender), senderIndex: cipher.index(sender), body: try cipher.seal(body))
    }

    /// The sender and the text are sealed (``FieldCipher``); the sender is found by its blind index.
    public init(row: Row) throws {
        let cipher = try FieldCipher.inForce
        id = row["id"]
        channel = row["channel"]
        providerMessageID = row["provider_message_id"]
        sender = try cipher.open(row["sender"] as String? ?? "")
        recipient = row["recipient"]
        body = try cipher.open(row["body"] as String? ?? "")
        receivedAt = row["received_at"]
        via = row["via"]
        reportNumber = row["report_number"]
    }

    /// Columns written without Codable: this insert is on every webhook's path.
    public func encode(to container: inout PersistenceContainer) throws {
        let cipher = try FieldCipher.inForce
        container["id"] = id
        container["channel"] = channel
        container["provider_message_id"] = providerMessageID
        let sealed = self.sealed.flatMap { $0.keyID == cipher.current ? $0 : nil }
        container["sender"] = try sealed?.sender ?? cipher.seal(sender)
        container["sender_index"] = sealed?.senderIndex ?? cipher.index(sender)
        container["recipient"] = recipient
        container["body"] = try sealed?.body ?? cipher.seal(body)
        container["received_at"] = receivedAt
        container["via"] = via
        container["report_number"] = reportNumber
    }
}
