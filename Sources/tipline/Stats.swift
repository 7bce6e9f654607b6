import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "The statistics of a period (a month by default), reading the database directly.",
        discussion: """
            Reports by channel, kind, urgency, province and commune; children by age band and sex; destinations;
            outcomes; time to first acknowledgement and to close (median, p90) by commune; escalations. Every number
            is about the reports received in the period. Example: tipline stats --month 2026-11 --csv
            """
    )

    @OptionGroup var options: CommonOptions
    @Option(help: "The month, YYYY-MM (default: the current month in the deployment's time zone).") var month: String?
    @Option(help: "Instead of a month: from (ISO 8601 date or time, or 30d).") var since: String?
    @Option(help: "Instead of a month: until (default now).") var until: String?
    @Option(help: "Only one commune or province code.") var area: String?
    @Flag(help: "The long CSV: period,dimension,value,count (UTF-8 with BOM).") var csv = false
    @Flag(help: "The API's JSON.") var json = false

    func validate() throws {
        guard !(csv && json) else { throw ValidationError("--csv and --json: choose one") }
    }

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try await deployment.settings.openDatabase()
        print(try await Self.output(query: query, csv: csv, json: json, database: database, deployment: deployment, now: Date()),
              terminator: "")
    }

    var query: [String: String] {
        var query: [String: String] = [:]
        if let month { query["month"] = month }
        if let since { query["since"] = since }
        if let until { query["until"] = until }
        if let area { query["area"] = area }
        return query
    }

    /// What the command prints.
    static func output(query: [String: String], csv: Bool, json: Bool, database: AppDatabase, deployment: Deployment,
                       now: Date) async throws -> String {
        let report: StatisticsReport
        do {
            report = try await StatisticsReport.load(query, database: database, deployment: deployment, now: now)
        } catch let failure as ReportLog.ValidationFailure {
            throw ValidationError(failure.message)
        }
        if csv { return report.csv }
        if json { return try report.json() + "\n" }
        return report.text
    }
}
