import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct Purge: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the retention settings now (the daemon also does it on its own).",
        discussion: "Closed cases past retention.closed_case_days lose their raw text and phone numbers; channel and audit logs expire."
    )
    @OptionGroup var options: CommonOptions
    @Flag(help: "Show what would be removed, change nothing.") var dryRun = false

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try deployment.settings.openDatabase()
        let now = Date()
        let cutoffs = deployment.settings.retentionCutoffs(now: now)
        let summary = try await database.purge(closedBefore: cutoffs.closed, channelLogBefore: cutoffs.channelLog, auditBefore: cutoffs.audit,
                                               now: now, dryRun: dryRun)
        print((dryRun ? "would purge: " : "purged: ") + summary.description)
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a consistent copy of the database while the daemon runs.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "The new backup file.") var path: String

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try deployment.settings.openDatabase()
        do {
            try await database.backup(to: path)
        } catch {
            FileHandle.standardError.write(Data("tipline: backup failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
        let copy = try AppDatabase.open(path: path)
        let check = try await copy.integrityCheck()
        guard check == "ok" else {
            FileHandle.standardError.write(Data("tipline: the backup at \(path) fails its integrity check: \(check)\n".utf8))
            throw ExitCode(1)
        }
        print("backup written to \(path) (integrity ok)")
    }
}
