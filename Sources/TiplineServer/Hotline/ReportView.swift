import Foundation
import TiplineCore
import TiplineStore

/// A report as the API, the web pages, the CSV export and `tipline log` show it: the grammar's field names plus the
/// case's own, with the reporter's number masked for roles that may not see it.
struct ReportView: Encodable {
    let report: Report
    let showReporter: Bool
    var timeline: [ReportEvent]?

    var reporter: String? {
        guard let number = report.reporter else { return nil }
        return showReporter ? number : PhoneNumber.mask(number)
    }

    enum CodingKeys: String, CodingKey {
        case number, status, kind, command, urgent, language, child, origin, destination
        case leftOn = "left_on"
        case companion, note, missing, flags
        case receivedAt = "received_at"
        case channel, via, reporter
        case assignedTo = "assigned_to"
        case callNow = "call_now"
        case text, result, outcome, timeline
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        let parsed = report.parsed
        try c.encode(report.number, forKey: .number)
        try c.encode(report.status.rawValue, forKey: .status)
        try c.encode(parsed.kind, forKey: .kind)
        try c.encode(parsed.command, forKey: .command)
        try c.encode(report.urgent, forKey: .urgent)
        try c.encode(parsed.language, forKey: .language)
        try c.encode(parsed.child, forKey: .child)
        try c.encode(parsed.origin, forKey: .origin)
        try c.encode(parsed.destination, forKey: .destination)
        try c.encode(parsed.leftOn, forKey: .leftOn)
        try c.encode(parsed.companion, forKey: .companion)
        try c.encode(parsed.note, forKey: .note)
        try c.encode(parsed.missing, forKey: .missing)
        try c.encode(parsed.flags, forKey: .flags)
        try c.encode(ReportView.iso(report.receivedAt), forKey: .receivedAt)
        try c.encode(report.channel, forKey: .channel)
        try c.encode(report.via, forKey: .via)
        try c.encode(reporter, forKey: .reporter)
        try c.encode(report.assignedTo, forKey: .assignedTo)
        try c.encode(report.callNow, forKey: .callNow)
        try c.encode(report.text, forKey: .text)
        try c.encode(report.result, forKey: .result)
        try c.encode(report.outcome, forKey: .outcome)
        if let timeline {
            try c.encode(timeline.map { EventView(event: $0) }, forKey: .timeline)
        }
    }

    struct EventView: Encodable {
        let event: ReportEvent
        enum CodingKeys: String, CodingKey { case at, kind, actor, detail }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(ReportView.iso(event.at), forKey: .at)
            try c.encode(event.kind, forKey: .kind)
            try c.encode(event.actor, forKey: .actor)
            try c.encode(event.detail, forKey: .detail)
        }
    }

    /// `2026-11-29T08:30:00Z` (a value type: no formatter made per call).
    static func iso(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    // MARK: - CSV

    static let csvColumns = ["number", "received_at", "status", "kind", "urgent", "call_now", "child_name", "child_age", "child_sex",
                             "area_code", "area_name", "village", "destination", "destination_code", "left_on", "companion_name",
                             "companion_phone", "missing", "assigned_to", "channel", "reporter", "text", "result", "outcome"]

    var csvRow: [String] {
        let p = report.parsed
        return [
            String(report.number ?? 0), ReportView.iso(report.receivedAt), report.status.rawValue, p.kind.rawValue, String(report.urgent),
            String(report.callNow), p.child.name ?? "", p.child.age.map(String.init) ?? "", p.child.sex?.rawValue ?? "",
            p.origin.areaCode ?? "", p.origin.areaName ?? "", p.origin.village ?? "", p.destination.name ?? p.destination.text ?? "",
            p.destination.code ?? "", p.leftOn ?? "", p.companion.name ?? "", p.companion.phone ?? "", p.missing.joined(separator: " "),
            report.assignedTo ?? "", report.channel, reporter ?? "", report.text ?? "", report.result ?? "",
            report.outcome?.rawValue ?? "",
        ]
    }

    /// RFC 4180 quoting. A value a spreadsheet could run as a formula — one starting with `=`, `+`, `-`, `@`, a tab or a
    /// carriage return — is prefixed with `'`, except a plain signed number (`+84…` in a number column, `-5`).
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first),
           !("+-".unicodeScalars.contains(first) && isPlainNumber(value)) {
            value = "'" + value
        }
        // By scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
        if value.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return value
    }

    /// A sign, digits, at most one decimal point, nothing else (`Double` would also take `-inf`, `+nan` or `-0x1p3`).
    static func isPlainNumber(_ value: String) -> Bool {
        var digits = 0, points = 0
        for byte in value.utf8.dropFirst() {
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                digits += 1
            } else if byte == UInt8(ascii: ".") {
                points += 1
            } else {
                return false
            }
        }
        return digits > 0 && points <= 1
    }

    /// UTF-8 with a byte-order mark, so spreadsheet programs show Vietnamese correctly.
    static func csv(_ views: [ReportView]) -> String {
        var out = csvHeader
        for view in views { out += view.csvLine }
        return out
    }

    /// The byte-order mark (spreadsheets then read UTF-8) and the column names.
    static let csvHeader = "\u{FEFF}" + csvColumns.joined(separator: ",") + "\r\n"

    var csvLine: String { csvRow.map(ReportView.csvField).joined(separator: ",") + "\r\n" }
}
