import Foundation
import GRDB
import TiplineCore

/// A numbered report: a tip, an alert, or a message nobody could read, kept for staff.
public struct Report: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SQLRecord {
    public static let databaseTableName = "report"
    public static let tableName = "report"
    public static let keyColumn = "number"

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
    /// How the case ended (a code given with the close): a fact, kept in clear and through retention.
    public var outcome: Outcome?
    public var updatedAt: Date
    /// Escalation: the level reached (0 is the first routing) and the pass through the levels.
    public var escalationLevel: Int = 0
    public var escalationRound: Int = 0
    /// When the escalation timer next fires; nil when the case needs none.
    public var nextEscalationAt: Date?
    /// Reminders sent to the officer holding the case since its last update.
    public var reminders: Int = 0
    /// Nobody answered through every level: hotline staff should call.
    public var callNow: Bool = false
    /// `parsed` as JSON, encoded when the report is built (outside the write transaction).
    var encodedParsed: String?
    /// The personal columns as stored (sealed, and blind-indexed), with the values they hold: sealed ahead of the
    /// write transaction by ``seal(with:)``, or read from the row. A write keeps each column's stored form while its
    /// value is unchanged and its key is current, so updating a case never seals its unchanged columns again.
    var sealed: SealedColumns?

    struct SealedColumns: Sendable {
        var reporter: String?, reporterValue: String?, reporterIndex: String?
        var text: String?, textValue: String?
        var parsed: String, parsedValue: ParsedMessage
        var searchKey: String?, searchKeyValue: String?
        var result: String?, resultValue: String?
        /// Blind indexes of `parsedValue`'s child name and companion phone.
        var childKey: String?, companionPhone: String?
    }

    /// Seals the personal columns now, outside the single writer: the intake does this before it queues the write.
    public mutating func seal(with cipher: FieldCipher) throws {
        sealed = SealedColumns(
            reporter: try cipher.seal(reporter), reporterValue: reporter, reporterIndex: cipher.index(reporter),
            text: try cipher.seal(text), textValue: text,
            parsed: try cipher.seal((encodedParsed ?? Report.json(parsed)) as String) as String, parsedValue: parsed,
            searchKey: searchKey.map { Report.searchIndex($0, cipher: cipher) }, searchKeyValue: searchKey,
            result: try cipher.seal(result), resultValue: result,
            childKey: parsed.child.name.map { cipher.index(TextFolding.fold($0)) }, companionPhone: cipher.index(parsed.companion.phone))
    }

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
        self.searchKey = text.map { TextFolding.fold($0).trimmingCharacters(in: .whitespaces) }
        self.updatedAt = receivedAt
        self.encodedParsed = Report.json(parsed)
    }

    static func json(_ parsed: ParsedMessage) -> String {
        parsed.jsonString
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
        case result, outcome
        case updatedAt = "updated_at"
        case escalationLevel = "escalation_level"
        case escalationRound = "escalation_round"
        case nextEscalationAt = "next_escalation_at"
        case reminders
        case callNow = "call_now"
    }

    /// Personal columns are sealed (``FieldCipher``): the reporter, the raw text, the parse (child's and companion's
    /// names, village, companion's phone, note) and the result. Lookups use blind indexes: `reporter_index`,
    /// `child_key` (the folded name), `companion_phone`, and `search_key` (one index per folded word). The facts the
    /// statistics count stay in clear columns: `outcome`, and `child_age`, `child_sex`, `destination_code` copied
    /// from the parse when it is written.
    public init(sqlRow row: SQLRow) throws {
        let cipher = try FieldCipher.inForce
        number = row["number"].int
        guard let kind = row["kind"].decode(ParsedMessage.Kind.self), let status = row["status"].decode(Status.self),
              let receivedAt = row["received_at"].date, let updatedAt = row["updated_at"].date else {
            throw SQLError("report \(number.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        self.kind = kind
        self.status = status
        urgent = row["urgent"].bool ?? false
        channel = row["channel"].string ?? ""
        via = row["via"].string ?? "sms"
        let storedReporter = row["reporter"].string, storedText = row["text"].string, storedResult = row["result"].string
        reporter = try cipher.open(storedReporter)
        text = try cipher.open(storedText)
        self.receivedAt = receivedAt
        areaCode = row["area_code"].string
        provinceCode = row["province_code"].string
        language = row["language"].decode(ParsedMessage.Language.self) ?? .vi
        let storedParsed = row["parsed"].string ?? "{}"
        let json = try cipher.open(storedParsed)
        parsed = try JSONDecoder().decode(ParsedMessage.self, from: Data(json.utf8))
        searchKey = row["search_key"].string
        assignedTo = row["assigned_to"].string
        acknowledgedAt = row["acknowledged_at"].date
        closedAt = row["closed_at"].date
        result = try cipher.open(storedResult)
        outcome = row["outcome"].decode(Outcome.self)
        self.updatedAt = updatedAt
        escalationLevel = row["escalation_level"].int ?? 0
        escalationRound = row["escalation_round"].int ?? 0
        nextEscalationAt = row["next_escalation_at"].date
        reminders = row["reminders"].int ?? 0
        callNow = row["call_now"].bool ?? false
        encodedParsed = nil
        sealed = SealedColumns(
            reporter: storedReporter, reporterValue: reporter, reporterIndex: row["reporter_index"].string,
            text: storedText, textValue: text, parsed: storedParsed, parsedValue: parsed,
            searchKey: searchKey, searchKeyValue: searchKey, result: storedResult, resultValue: result,
            childKey: row["child_key"].string, companionPhone: row["companion_phone"].string)
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    /// Columns written without Codable: the insert is on every report's path.
    public func sqlColumns() throws -> [(String, SQLValue)] {
        let cipher = try FieldCipher.inForce
        let kept = KeptColumns(sealed, cipher: cipher)
        let parsedUnchanged = kept.columns?.parsedValue == parsed
        return [
            ("number", number.sqlValue),
            ("kind", .text(kind.rawValue)),
            ("status", .text(status.rawValue)),
            ("urgent", urgent.sqlValue),
            ("channel", .text(channel)),
            ("via", .text(via)),
            ("reporter", try (kept.sealed(\.reporter, if: kept.columns?.reporterValue == reporter) ?? cipher.seal(reporter)).sqlValue),
            ("reporter_index", (kept.index(\.reporterIndex, if: kept.columns?.reporterValue == reporter) ?? cipher.index(reporter)).sqlValue),
            ("text", try (kept.sealed(\.text, if: kept.columns?.textValue == text) ?? cipher.seal(text)).sqlValue),
            ("received_at", .date(receivedAt)),
            ("area_code", areaCode.sqlValue),
            ("province_code", provinceCode.sqlValue),
            ("language", .text(language.rawValue)),
            ("parsed", .text(try kept.sealed(\.parsed, if: parsedUnchanged) ?? cipher.seal((encodedParsed ?? Report.json(parsed)) as String) as String)),
            ("search_key", (kept.index(\.searchKey, if: kept.columns?.searchKeyValue == searchKey) ?? searchKey.map { Report.searchIndex($0, cipher: cipher) }).sqlValue),
            ("assigned_to", assignedTo.sqlValue),
            ("acknowledged_at", acknowledgedAt.sqlValue),
            ("closed_at", closedAt.sqlValue),
            ("result", try (kept.sealed(\.result, if: kept.columns?.resultValue == result) ?? cipher.seal(result)).sqlValue),
            ("outcome", outcome?.rawValue.sqlValue ?? .null),
            ("updated_at", .date(updatedAt)),
            ("escalation_level", escalationLevel.sqlValue),
            ("escalation_round", escalationRound.sqlValue),
            ("next_escalation_at", nextEscalationAt.sqlValue),
            ("reminders", reminders.sqlValue),
            ("call_now", callNow.sqlValue),
            ("child_key", (kept.index(\.childKey, if: parsedUnchanged) ?? parsed.child.name.map { cipher.index(TextFolding.fold($0)) }).sqlValue),
            ("child_age", parsed.child.age.sqlValue),
            ("child_sex", parsed.child.sex?.rawValue.sqlValue ?? .null),
            ("destination_code", parsed.destination.code.sqlValue),
            ("companion_phone", (kept.index(\.companionPhone, if: parsedUnchanged) ?? cipher.index(parsed.companion.phone)).sqlValue),
        ]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (name, value) in try sqlColumns() { container[name] = value.databaseValue }
    }

    /// Which stored forms a write may keep: a sealed one only under the cipher's current key (so `rekey` and turning
    /// encryption on seal again), a blind index only when it was made as the cipher makes them (keyed or not).
    private struct KeptColumns {
        let columns: SealedColumns?
        let cipher: FieldCipher

        init(_ columns: SealedColumns?, cipher: FieldCipher) {
            self.columns = columns
            self.cipher = cipher
        }

        /// `.some(stored)` to keep, nil to seal again.
        func sealed(_ column: KeyPath<SealedColumns, String?>, if unchanged: Bool) -> String?? {
            guard unchanged, let columns else { return nil }
            let stored = columns[keyPath: column]
            guard stored.map({ FieldCipher.keyID(of: $0) == cipher.current }) ?? true else { return nil }
            return .some(stored)
        }

        func sealed(_ column: KeyPath<SealedColumns, String>, if unchanged: Bool) -> String? {
            guard unchanged, let columns, FieldCipher.keyID(of: columns[keyPath: column]) == cipher.current else { return nil }
            return columns[keyPath: column]
        }

        func index(_ column: KeyPath<SealedColumns, String?>, if unchanged: Bool) -> String?? {
            guard unchanged, let columns else { return nil }
            let stored = columns[keyPath: column]
            guard stored.map({ cipher.madeIndex($0) }) ?? true else { return nil }
            return .some(stored)
        }
    }

    /// The words of a text, folded, for search: the blind index of each, between spaces (`" w1 w2 "`), so a search
    /// matches whole words without the text being readable. A stored key (already indexed) is kept as it is.
    static func searchIndex(_ key: String, cipher: FieldCipher) -> String {
        if key.hasPrefix(" ") { return key }
        let words = searchWords(key)
        return " " + words.map { cipher.searchToken($0) }.joined(separator: " ") + " "
    }

    /// The distinct folded words of a text (letters and digits), as search matches them.
    public static func searchWords(_ text: String) -> [String] {
        var seen = Set<String>()
        return TextFolding.fold(text).split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            .filter { seen.insert($0).inserted }
    }

    public static func == (a: Report, b: Report) -> Bool {
        a.number == b.number && a.parsed == b.parsed && a.status == b.status && a.assignedTo == b.assignedTo
            && a.updatedAt == b.updatedAt && a.text == b.text && a.reporter == b.reporter && a.result == b.result
            && a.outcome == b.outcome
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        number = Int(inserted.rowID)
        sealed = nil
    }
}

extension ParsedMessage.Kind: DatabaseValueConvertible {}
extension ParsedMessage.Language: DatabaseValueConvertible {}

/// One thing that happened to a report, for its timeline.
public struct ReportEvent: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SQLRecord {
    public static let databaseTableName = "report_event"
    public static let tableName = "report_event"

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


    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The detail may quote a message (a note, a merged report's text): sealed (``FieldCipher``).
    public init(sqlRow row: SQLRow) throws {
        guard let reportNumber = row["report_number"].int, let at = row["at"].date, let kind = row["kind"].string else {
            throw SQLError("report_event \(row["id"].int.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        id = row["id"].int64
        self.reportNumber = reportNumber
        self.at = at
        self.kind = kind
        actor = row["actor"].string
        detail = try FieldCipher.inForce.open(row["detail"].string)
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    public func sqlColumns() throws -> [(String, SQLValue)] {
        [("id", id.sqlValue), ("report_number", reportNumber.sqlValue), ("at", .date(at)), ("kind", .text(kind)), ("actor", actor.sqlValue),
         ("detail", (Self.clearKinds.contains(kind) ? detail : try FieldCipher.inForce.seal(detail)).sqlValue)]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (name, value) in try sqlColumns() { container[name] = value.databaseValue }
    }

    /// Kinds whose detail the system writes and never quotes a person (officer ids, levels, fields missing): stored
    /// in clear, saving a seal per event on the intake path. Every other kind — notes, merged texts, closing
    /// results, provider errors, group keys — is sealed.
    static let clearKinds: Set<String> = [
        "received", "routed", "parsed", "escalated", "reminder", "call_now", "acknowledged", "reassigned", "urgent",
        "reopened", "held", "anonymised", "retention_warning", "viewed",
    ]
}
