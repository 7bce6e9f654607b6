import Foundation
import TiplineCore
import TiplineStore

/// The report log as `tipline log` and `tipline show` print it (the command line reads the database as hotline staff).
public enum ReportLog {
    public static func filter(_ query: [String: String]) throws -> AppDatabase.ReportFilter {
        do {
            return try ReportQuery.filter(query, now: Date())
        } catch let error as APIError {
            throw ValidationFailure(message: error.message)
        }
    }

    /// A point in time from `24h`, `7d`, `30m` or ISO 8601, as the API's `since` reads it.
    public static func since(_ text: String, now: Date = Date()) throws -> Date {
        do {
            return try ReportQuery.instant(text, parameter: "--since", now: now)
        } catch let error as APIError {
            throw ValidationFailure(message: error.message)
        }
    }

    public struct ValidationFailure: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public static func jsonLines(_ reports: [Report]) throws -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try reports.map { String(decoding: try encoder.encode(ReportView(report: $0, showReporter: true)), as: UTF8.self) }
    }

    public static func csv(_ reports: [Report]) -> String {
        ReportView.csv(reports.map { ReportView(report: $0, showReporter: true) })
    }

    /// An aligned table; urgent rows in red and call-now rows in bold on a terminal.
    public static func table(_ reports: [Report], timeZone: TimeZone, colour: Bool) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = timeZone
        formatter.dateFormat = "dd/MM HH:mm"
        let header = ["#", "received", "status", "kind", "!", "child", "commune", "to", "assigned"]
        var rows = [header]
        for report in reports {
            let p = report.parsed
            let child = [p.child.name, p.child.age.map { "\($0)t" }, p.child.sex.map { $0 == .female ? "nu" : "nam" }].compactMap { $0 }.joined(separator: " ")
            rows.append([
                String(report.number ?? 0), formatter.string(from: report.receivedAt), report.status.rawValue, p.kind.rawValue,
                report.callNow ? "CALL" : report.urgent ? "!" : "", child, p.origin.areaName ?? p.origin.text ?? "",
                p.destination.name ?? p.destination.text ?? "", report.assignedTo ?? "",
            ])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            var line = row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            if colour, index > 0 {
                let report = reports[index - 1]
                if report.callNow { line = "\u{1B}[1;31m" + line + "\u{1B}[0m" } else if report.urgent { line = "\u{1B}[31m" + line + "\u{1B}[0m" }
            } else if colour, index == 0 {
                line = "\u{1B}[1m" + line + "\u{1B}[0m"
            }
            lines.append(line)
        }
        if reports.isEmpty { lines.append("(no reports)") }
        return lines.joined(separator: "\n")
    }

    public static func detail(_ report: Report, timeline: [ReportEvent], timeZone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        let p = report.parsed
        var lines = [
            "Report \(report.number ?? 0) — \(report.status.rawValue)\(report.urgent ? ", URGENT" : "")\(report.callNow ? ", CALL NOW" : "")",
            "received   \(formatter.string(from: report.receivedAt)) via \(report.via) on \(report.channel) from \(report.reporter ?? "-")",
            "kind       \(p.kind.rawValue)",
            "child      \([p.child.name, p.child.age.map { "\($0) years" }, p.child.sex?.rawValue].compactMap { $0 }.joined(separator: ", "))",
            "origin     \([p.origin.areaName, p.origin.province, p.origin.village.map { "village \($0)" }, p.origin.text].compactMap { $0 }.joined(separator: ", "))",
            "to         \(p.destination.name ?? p.destination.text ?? "-")",
            "left on    \(p.leftOn ?? "-")",
            "companion  \([p.companion.name, p.companion.phone].compactMap { $0 }.joined(separator: " "))",
            "missing    \(p.missing.isEmpty ? "-" : p.missing.joined(separator: ", "))",
            "assigned   \(report.assignedTo ?? "-")",
            "text       \(report.text ?? "")",
        ]
        if let outcome = report.outcome { lines.append("outcome    \(outcome.rawValue)") }
        if let result = report.result { lines.append("result     \(result)") }
        lines.append("")
        lines.append("timeline")
        for event in timeline {
            lines.append("  \(formatter.string(from: event.at))  \(event.kind.padding(toLength: 16, withPad: " ", startingAt: 0))\(event.actor ?? "")  \(event.detail ?? "")")
        }
        return lines.joined(separator: "\n")
    }
}
