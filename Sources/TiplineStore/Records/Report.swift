import Foundation
import GRDB
import TiplineCore

/// A numbered report: a tip, an alert, or a message nobody could read, kept for staff.
public struct Report: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "report"

    public enum Status: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
        /// Routed; nobody has taken it yet.
        case open
        /// An officer took it (`NHAN`).
        case acknowledged
        /// The child is home; follow-up continues.
        case home
        case closed
        /// Kept for staff review, not alerted (an abandoned USSD session).
        case partial
    }

    public var number: Int?
    public var kind: ParsedMessage.Kind
    public var status: Status
    public var urgent: Bool
    public var channel: String
    public var via: String
    public var reporter: String?
    public var text: String?
    public var receivedAt: Date
    public var areaCode: String?
    public var provinceCode: String?
    public var language: ParsedMessage.Language
    public var parsed: ParsedMessage
    /// Folded text for diacritic-insensitive search.
    public var searchKey: String?
    public var assignedTo: String?
    public var acknowledgedAt: Date?
    public var closedAt: Date?
    public var result: String?
    public var updatedAt: Date

    public init(number: Int? = nil, parsed: ParsedMessage, status: Status = .open, channel: String, via: String = "sms",
                reporter: String?, text: String?, receivedAt: Date, provinceCode: String? = nil) {
        self.number = number
        self.kind = parsed.kind
        self.status = status
        self.urgent = parsed.urgent
        self.channel = channel
        self.via = via
        self.reporter = reporter
        self.text = text
        self.receivedAt = receivedAt
        self.areaCode = parsed.origin.areaCode
        self.provinceCode = provinceCode
        self.language = parsed.language
        self.parsed = parsed
        self.searchKey = text.map(TextFolding.fold)
        self.updatedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey {
        case number, kind, status, urgent, channel, via, reporter, text
        case receivedAt = "received_at"
        case areaCode = "area_code"
        case provinceCode = "province_code"
        case language, parsed
        case searchKey = "search_key"
        case assignedTo = "assigned_to"
        case acknowledgedAt = "acknowledged_at"
        case closedAt = "closed_at"
        case result
        case updatedAt = "updated_at"
    }

    public enum Columns {
        public static let number = Column(CodingKeys.number)
        public static let status = Column(CodingKeys.status)
        public static let receivedAt = Column(CodingKeys.receivedAt)
        public static let urgent = Column(CodingKeys.urgent)
        public static let areaCode = Column(CodingKeys.areaCode)
        public static let provinceCode = Column(CodingKeys.provinceCode)
        public static let kind = Column(CodingKeys.kind)
        public static let channel = Column(CodingKeys.channel)
        public static let searchKey = Column(CodingKeys.searchKey)
        public static let assignedTo = Column(CodingKeys.assignedTo)
        public static let reporter = Column(CodingKeys.reporter)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { number = Int(inserted.rowID) }
}

extension ParsedMessage.Kind: DatabaseValueConvertible {}
extension ParsedMessage.Language: DatabaseValueConvertible {}

/// One thing that happened to a report, for its timeline.
public struct ReportEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "report_event"

    public var id: Int64?
    public var reportNumber: Int
    public var at: Date
    /// `received`, `routed`, `alert_queued`, `alert_sent`, `acknowledged`, `note`, `escalated`, `closed`, …
    public var kind: String
    /// Who did it: an officer's id, a staff name, `system`, `reporter`.
    public var actor: String?
    public var detail: String?

    public init(reportNumber: Int, at: Date, kind: String, actor: String? = nil, detail: String? = nil) {
        self.reportNumber = reportNumber
        self.at = at
        self.kind = kind
        self.actor = actor
        self.detail = detail
    }

    enum CodingKeys: String, CodingKey {
        case id
        case reportNumber = "report_number"
        case at, kind, actor, detail
    }

    public enum Columns {
        public static let reportNumber = Column(CodingKeys.reportNumber)
        public static let at = Column(CodingKeys.at)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
