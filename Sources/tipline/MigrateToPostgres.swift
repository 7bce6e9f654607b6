import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

/// Moves an existing SQLite deployment to the PostgreSQL database its settings now name (`database.url`).
struct MigrateToPostgres: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate-to-postgres",
        abstract: "Copy a SQLite deployment (reports, timelines, messages, staff, tokens, audit) into the configured PostgreSQL database.",
        discussion: """
            Stop the daemon first. The settings must name the PostgreSQL database (database.url) and keep the deployment's \
            encryption keys: sealed values are copied as they are. The PostgreSQL database must be empty. Every table is \
            copied row for row and counted on both sides; a difference is an error. Example: \
            tipline migrate-to-postgres --from /var/lib/tipline/tipline.sqlite
            """
    )
    @OptionGroup var options: CommonOptions
    @Option(help: "The SQLite file to copy.") var from: String

    func run() async throws {
        let settings = try options.loadDeployment().settings
        guard settings.postgres != nil else {
            throw ValidationError("the settings name no PostgreSQL database: set database.url (or TIPLINE_DATABASE_URL) first")
        }
        guard FileManager.default.fileExists(atPath: from) else { throw ValidationError("--from: no file at \(from)") }
        let source = try AppDatabase.open(path: from, cipher: settings.cipher)
        let tables = try await settings.openDatabase().closing { target in try await target.copy(from: source) }
        let width = tables.map(\.table.count).max() ?? 10
        print("table".padding(toLength: width, withPad: " ", startingAt: 0) + "  sqlite  postgresql")
        for table in tables {
            print(table.table.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + String(table.source).leftPadded(6) + "  "
                  + String(table.copied).leftPadded(10) + (table.source == table.copied ? "" : "  DIFFERENT"))
        }
        let different = tables.filter { $0.source != $0.copied }
        guard different.isEmpty else {
            throw ValidationError("the counts differ for \(different.map(\.table).joined(separator: ", ")): do not start the daemon on PostgreSQL")
        }
        print("copied \(tables.map(\.copied).reduce(0, +)) rows into \(settings.databaseDescription); every count matches")
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
