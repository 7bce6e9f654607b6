import Foundation
import GRDB

/// A message as a provider delivered it, stored before anything is done with it.
public struct InboundMessage: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SQLRecord {
    public static let databaseTableName = "inbound_message"
    public static let tableName = "inbound_message"

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
    public init(sqlRow row: SQLRow) throws {
        let cipher = try FieldCipher.inForce
        guard let channel = row["channel"].string, let providerMessageID = row["provider_message_id"].string,
              let receivedAt = row["received_at"].date else {
            throw SQLError("inbound_message \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        id = row["id"].int64
        self.channel = channel
        self.providerMessageID = providerMessageID
        sender = try cipher.open(row["sender"].string ?? "")
        recipient = row["recipient"].string
        body = try cipher.open(row["body"].string ?? "")
        self.receivedAt = receivedAt
        via = row["via"].string ?? "sms"
        reportNumber = row["report_number"].int
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    /// Columns written without Codable: this insert is on every webhook's path.
    public func sqlColumns() throws -> [(String, SQLValue)] {
        let cipher = try FieldCipher.inForce
        let sealed = self.sealed.flatMap { $0.keyID == cipher.current ? $0 : nil }
        let sender = try sealed?.sender ?? cipher.seal(self.sender)
        let body = try sealed?.body ?? cipher.seal(self.body)
        return [
            ("id", id.sqlValue),
            ("channel", .text(channel)),
            ("provider_message_id", .text(providerMessageID)),
            ("sender", .text(sender)),
            ("sender_index", .text(sealed?.senderIndex ?? cipher.index(self.sender))),
            ("recipient", recipient.sqlValue),
            ("body", .text(body)),
            ("received_at", .date(receivedAt)),
            ("via", .text(via)),
            ("report_number", reportNumber.sqlValue),
        ]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (name, value) in try sqlColumns() { container[name] = value.databaseValue }
    }
}
