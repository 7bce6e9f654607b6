import Foundation
import GRDB

/// One provider call or webhook, for `tipline channel-log`: no message text, no full phone number, no secret.
public struct ChannelLogEntry: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "channel_log"

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
        try await dbWrite { db in
            for var entry in entries { try entry.insert(db) }
        }
    }

    public func channelLog(channel: String?, since: Date?, limit: Int) async throws -> [ChannelLogEntry] {
        try await dbRead { db in
            var request = ChannelLogEntry.order(Column("id").desc).limit(limit)
            if let channel { request = request.filter(Column("channel") == channel) }
            if let since { request = request.filter(Column("at") >= since) }
            return try request.fetchAll(db)
        }
    }
}
