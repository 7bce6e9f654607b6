import ArgumentParser
import Foundation
import TiplineCore
import TiplineServer
import TiplineStore

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the recent report log, reading the database directly.")

    @OptionGroup var options: CommonOptions
    @Option(help: "How far back: 30m, 24h, 7d.") var since: String = "24h"
    @Option(help: "open, acknowledged, home, closed, partial (comma-separated).") var status: String?
    @Option(help: "An area or province code.") var area: String?
    @Flag(help: "Only urgent reports.") var urgent = false
    @Flag(help: "JSON, one report a line.") var json = false
    @Flag(help: "CSV (UTF-8 with BOM).") var csv = false
    @Option(help: "At most this many.") var limit: Int = 50
    @Option(name: .customLong("query"), help: "Whole words of the text, without diacritics needed (as the web log's search).") var text: String?

    func run() async throws {
        let settings = try options.loadSettings()
        var query = ["since": since, "limit": String(limit)]
        if let status { query["status"] = status }
        if let area { query["area"] = area }
        if urgent { query["urgent"] = "true" }
        if let text { query["q"] = text }
        let filter: AppDatabase.ReportFilter
        do {
            filter = try ReportLog.filter(query)
        } catch {
            throw ValidationError("\(error)")
        }
        let database = try await settings.openDatabase()
        let reports = try await database.reports(filter)
        if json {
            for line in try ReportLog.jsonLines(reports) { print(line) }
        } else if csv {
            print(ReportLog.csv(reports), terminator: "")
        } else {
            print(ReportLog.table(reports, timeZone: settings.timeZone, colour: isatty(STDOUT_FILENO) == 1))
        }
    }
}

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print one report with its timeline.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "The report number.") var number: Int

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try await deployment.settings.openDatabase()
        guard let report = try await database.report(number: number) else {
            FileHandle.standardError.write(Data("tipline: no report \(number)\n".utf8))
            throw ExitCode(1)
        }
        print(ReportLog.detail(report, timeline: try await database.timeline(number: number), timeZone: deployment.settings.timeZone))
    }
}
