import Foundation
import Hummingbird
import TiplineCore
import TiplineStore

/// The report-log filters shared by the API, the CSV export and the web log; a bad one is a 400 naming the parameter.
///
/// What a caller may see of the result is not decided here: ``StaffReportAccess`` narrows the filter to its patch.
enum ReportQuery {
    /// `maxLimit`: how many rows `limit` may ask for (a page of the log or the API; an export, ``ReportExport``, more).
    static func filter(_ query: [String: String], now: Date, maxLimit: Int = 500) throws -> AppDatabase.ReportFilter {
        var filter = AppDatabase.ReportFilter()
        if let since = query["since"], !since.isEmpty {
            filter.since = try instant(since, parameter: "since", now: now)
        }
        if let until = query["until"], !until.isEmpty {
            filter.until = try instant(until, parameter: "until", now: now)
        }
        if let statuses = query["status"], !statuses.isEmpty {
            filter.statuses = try statuses.split(separator: ",").map { name in
                guard let status = Report.Status(rawValue: String(name)) else {
                    throw APIError(.badRequest, "status: '\(name)' is not one of \(Report.Status.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return status
            }
        }
        if let kind = query["kind"], !kind.isEmpty {
            guard let value = ParsedMessage.Kind(rawValue: kind) else {
                throw APIError(.badRequest, "kind: '\(kind)' is not one of tip, alert, command, unknown")
            }
            filter.kind = value
        }
        if let urgent = query["urgent"], !urgent.isEmpty {
            guard urgent == "true" || urgent == "false" else { throw APIError(.badRequest, "urgent: must be true or false, not '\(urgent)'") }
            filter.urgent = urgent == "true"
        }
        if let area = query["area"], !area.isEmpty {
            guard area.allSatisfy(\.isNumber) else { throw APIError(.badRequest, "area: '\(area)' is not an area or province code") }
            filter.area = area
        }
        if let channel = query["channel"], !channel.isEmpty { filter.channel = channel }
        if let q = query["q"], !q.isEmpty { filter.query = q }
        if let limit = query["limit"], !limit.isEmpty {
            guard let value = Int(limit), (1...maxLimit).contains(value) else {
                throw APIError(.badRequest, "limit: must be a number from 1 to \(maxLimit), not '\(limit)'")
            }
            filter.limit = value
        }
        if let cursor = query["cursor"], !cursor.isEmpty {
            guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("before:"),
                  let number = Int(text.dropFirst(7)) else {
                throw APIError(.badRequest, "cursor: not a cursor this server gave")
            }
            filter.before = number
        }
        return filter
    }

    /// A read of the log as the audit log keeps it: how many rows, through what (`web`, `api`), and the filters —
    /// only values the filter checked (a status, a kind, an area code, a time, a configured channel name, the limit),
    /// never the query string as sent. The free-text search becomes `q=<redacted, N chars>`: it is how staff look for
    /// a child's name or a phone number.
    ///
    /// `query` supplies only the `since` and `until` as written (`24h`), once `filter` has accepted them; `refused`
    /// says the filters were rejected and the default view shown instead.
    static func auditDetail(_ filter: AppDatabase.ReportFilter, query: [String: String], rows: Int, via: String,
                            channels: Set<String>, refused: Bool = false) -> String {
        var parts = ["rows=\(rows)", "via=\(via)"]
        if refused { parts.append("filters=refused") }
        if !filter.statuses.isEmpty { parts.append("status=" + filter.statuses.map(\.rawValue).joined(separator: ",")) }
        if let kind = filter.kind { parts.append("kind=\(kind.rawValue)") }
        if let urgent = filter.urgent { parts.append("urgent=\(urgent)") }
        if let area = filter.area, area.allSatisfy(\.isNumber) { parts.append("area=\(area)") }
        if let channel = filter.channel {
            parts.append(channels.contains(channel) ? "channel=\(channel)" : "channel=<unknown, \(channel.count) chars>")
        }
        // A time as written, once parsed: digits, an ISO 8601 date's signs, or a relative unit.
        func time(_ name: String, _ value: Date?) {
            guard let value else { return }
            let text = query[name] ?? ""
            let plain = text.count <= 40 && text.allSatisfy { $0.isASCII && ($0.isNumber || "-:+.TZmhd".contains($0)) }
            parts.append("\(name)=" + (plain ? text : ReportView.iso(value)))
        }
        time("since", filter.since)
        time("until", filter.until)
        if let q = filter.query, !q.isEmpty { parts.append("q=<redacted, \(q.count) chars>") }
        parts.append("limit=\(filter.limit)")
        if let before = filter.before { parts.append("before=\(before)") }
        return parts.joined(separator: "; ")
    }

    /// The channel names a `channel` filter may keep in the audit log: the deployment's SMS and USSD channels.
    static func channelNames(_ deployment: Deployment) -> Set<String> {
        Set(deployment.settings.channels.keys).union(deployment.settings.ussdChannels.keys)
    }

    static func cursor(after reports: [Report], limit: Int) -> String? {
        guard reports.count == limit, let last = reports.last?.number else { return nil }
        return Data("before:\(last)".utf8).base64EncodedString()
    }

    /// ISO 8601 (`2026-11-28T09:00:00+07:00`, `2026-11-28`) or a relative `24h`, `7d`, `30m`.
    static func instant(_ text: String, parameter: String, now: Date) throws -> Date {
        if let unit = text.last, "mhd".contains(unit), let value = Double(text.dropLast()), value >= 0 {
            return now.addingTimeInterval(-value * (unit == "m" ? 60 : unit == "h" ? 3600 : 86400))
        }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        if let date = formatter.date(from: text) { return date }
        throw APIError(.badRequest, "\(parameter): '\(text)' is not a time (2026-11-28T09:00:00+07:00, 2026-11-28, or 24h/7d)")
    }
}
