import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the audit log: who read or changed what (never a child's detail), newest first."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "How far back: 30m, 24h, 7d, or an ISO 8601 date.")
    var since: String = "24h"

    @Option(help: "Only this actor (a staff or token name, an officer id, or anonymous).")
    var actor: String?

    @Option(help: "Only this action (view_report, list_reports, export_csv, sign_in_failed …).")
    var action: String?

    @Option(help: "At most this many entries.")
    var limit: Int = 200

    @Flag(help: "One JSON object a line.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be 1 or more") }
    }

    func run() async throws {
        let deployment = try options.loadDeployment()
        let start: Date
        do {
            start = try ReportLog.since(since)
        } catch {
            throw ValidationError("\(error)")
        }
        let database = try await deployment.settings.openDatabase()
        let entries = try await database.auditLog(AuditQuery(since: start, actor: actor, action: action, limit: limit))
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = deployment.settings.timeZone
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for entry in entries { print(String(decoding: try encoder.encode(entry), as: UTF8.self)) }
            return
        }
        let columns: [(String, Int)] = [("time", 26), ("actor", 20), ("role", 13), ("action", 18), ("target", 14)]
        print(columns.map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined() + "detail")
        for entry in entries {
            print(formatter.string(from: entry.at).padding(toLength: 26, withPad: " ", startingAt: 0)
                  + Self.column(entry.actor, 20) + Self.column(entry.role, 13) + Self.column(entry.action, 18)
                  + Self.column(entry.target ?? "-", 14) + (entry.detail ?? ""))
        }
        if entries.isEmpty { print("(no entries)") }
    }

    /// `text` padded to `width`, with one space after it even when it is longer.
    static func column(_ text: String, _ width: Int) -> String {
        text.count < width ? text.padding(toLength: width, withPad: " ", startingAt: 0) : text + " "
    }
}
