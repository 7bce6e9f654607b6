import Foundation
import GRDB

/// One provider call or webhook, for `tipline channel-log`: no message text, no full phone number, no secret.
public struct ChannelLogEntry: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord, SQLRecord {
    public static let tableName = "channel_log"
    public static var databaseTableName: String { tableName }

    public var id: Int64?
    public var at: Date
    public var channel: String
    /// `in` (a webhook from the provider) or `out` (a call to the provider's API).
    public var direction: String
    /// `sms`, `status`, `send`.
    public var kind: String
    /// The HTTP status answered or received; nil when no response came back.
    public var status: Int?
    public var latencyMS: Double?
    public var error: String?

    public init(at: Date, channel: String, direction: String, kind: String, status: Int?, latencyMS: Double?, error: String?) {
        self.at = at
        self.channel = channel
        self.direction = direction
        self.kind = kind
        self.status = status
        self.latencyMS = latencyMS
        self.error = error.map(ChannelLogEntry.redact)
    }

    enum CodingKeys: String, CodingKey {
        case id, at, channel, direction, kind, status
        case latencyMS = "latency_ms"
        case error
    }

    public init(sqlRow row: SQLRow) throws {
        guard let at = row["at"].date, let channel = row["channel"].string, let direction = row["direction"].string,
              let kind = row["kind"].string else {
            throw SQLError("channel_log \(row["id"].int64.map(String.init) ?? "?"): a required column is missing or unreadable")
        }
        id = row["id"].int64
        self.at = at
        self.channel = channel
        self.direction = direction
        self.kind = kind
        status = row["status"].int
        latencyMS = row["latency_ms"].double
        // As stored: redacted when the entry was made.
        error = row["error"].string
    }

    public init(row: Row) throws {
        try self.init(sqlRow: SQLRow(row))
    }

    public func sqlColumns() throws -> [(String, SQLValue)] {
        [("id", id.sqlValue), ("at", at.sqlValue), ("channel", channel.sqlValue), ("direction", direction.sqlValue),
         ("kind", kind.sqlValue), ("status", status.sqlValue), ("latency_ms", latencyMS.sqlValue), ("error", error.sqlValue)]
    }

    public func encode(to container: inout PersistenceContainer) throws {
        for (name, value) in try sqlColumns() { container[name] = value.databaseValue }
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// Masks anything that looks like a phone number (7 or more digits) and secrets in `key=value` form.
    public static func redact(_ text: String) -> String {
        var out = text
        if let phones = try? NSRegularExpression(pattern: #"\+?\d[\d .-]{6,}\d"#) {
            let range = NSRange(out.startIndex..., in: out)
            for match in phones.matches(in: out, range: range).reversed() {
                guard let r = Range(match.range, in: out) else { continue }
                let digits = out[r].filter(\.isNumber)
                out.replaceSubrange(r, with: String(digits.prefix(4)) + "****" + String(digits.suffix(3)))
            }
        }
        if let secrets = try? NSRegularExpression(pattern: #"(?i)(token|key|secret|password|signature|sig)=([^&\s]+)"#) {
            out = secrets.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out), withTemplate: "$1=***")
        }
        return String(out.prefix(500))
    }
}

extension AppDatabase {
    public func appendChannelLog(_ entries: [ChannelLogEntry]) async throws {
        guard !entries.isEmpty else { return }
        try await sqlWrite { session in
            for entry in entries { try session.insert(entry) }
        }
    }

    public func channelLog(channel: String?, since: Date?, limit: Int) async throws -> [ChannelLogEntry] {
        try await sqlRead { session in
            var conditions: [String] = []
            var arguments: [SQLValue] = []
            if let channel { conditions.append("channel = ?"); arguments.append(channel.sqlValue) }
            if let since { conditions.append("at >= ?"); arguments.append(since.sqlValue) }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            // PostgreSQL refuses a negative LIMIT (SQLite read it as none).
            arguments.append(max(limit, 0).sqlValue)
            return try session.rows("SELECT * FROM channel_log \(filter) ORDER BY id DESC LIMIT ?", arguments).map(ChannelLogEntry.init(sqlRow:))
        }
    }
}
