import ArgumentParser
import Foundation
import TiplineCore
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
        let database = try await deployment.settings.openDatabase()
        let now = Date()
        let summary = try await database.purge(deployment.settings.retention, now: now, dryRun: dryRun)
        print((dryRun ? "would purge: " : "purged: ") + summary.description)
    }
}

struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase on request: a reporter's number and texts everywhere (--phone), or one case's personal details (--report).",
        discussion: "The case's facts (kind, age, sex, commune, destination, dates, status) stay for the statistics. Written to the audit log."
    )
    @OptionGroup var options: CommonOptions
    @Option(help: "The phone number to forget (any form: 0912…, +84912…).") var phone: String?
    @Option(help: "The report number whose personal details to erase.") var report: Int?
    @Option(help: "Who asked, for the audit log (a name or a ticket, no personal detail).") var by = "cli"
    @Flag(help: "Show what would be erased, change nothing.") var dryRun = false

    func validate() throws {
        guard (phone == nil) != (report == nil) else { throw ValidationError("give exactly one of --phone and --report") }
        if let phone, PhoneNumber.normalise(phone) == nil { throw ValidationError("--phone: '\(phone)' is not a phone number") }
    }

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try await deployment.settings.openDatabase()
        let now = Date()
        let summary: PurgeSummary
        let target: String
        if let phone, let normalised = PhoneNumber.normalise(phone) {
            summary = try await database.erase(phone: normalised, now: now, dryRun: dryRun)
            target = PhoneNumber.mask(normalised)
        } else {
            summary = try await database.erase(report: report ?? 0, now: now, dryRun: dryRun)
            target = "report \(report ?? 0)"
        }
        if !dryRun {
            try await database.audit(actor: by, role: "cli", action: phone != nil ? "erase_phone" : "erase_report", target: target,
                                     detail: summary.description, now: now)
        }
        print((dryRun ? "would erase: " : "erased: ") + summary.description)
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Put a backup in place of the database (stop the daemon first).",
        discussion: "Checks the backup's integrity and refuses one written by a newer tipline, then replaces the database file "
            + "(the current one is kept beside it as <name>.before-restore). The keys that sealed the backup's values must "
            + "be configured (docs/operations.md, Keys)."
    )
    @OptionGroup var options: CommonOptions
    @Argument(help: "The backup file (from tipline backup).") var backup: String

    func run() async throws {
        let deployment = try options.loadDeployment()
        if let postgres = deployment.settings.postgres {
            throw ValidationError("restore puts a SQLite backup in place; this deployment's database is PostgreSQL (\(postgres.redacted)): use pg_restore (docs/operations.md)")
        }
        let target = deployment.settings.databasePath
        func fail(_ message: String) throws -> Never {
            FileHandle.standardError.write(Data("tipline: restore refused: \(message)\n".utf8))
            throw ExitCode(1)
        }
        guard FileManager.default.fileExists(atPath: backup) else { try fail("'\(backup)' does not exist") }
        // Checked on a scratch copy: opening runs migrations, and the backup itself stays as it was.
        let scratch = target + ".restore-check"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: scratch)
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: scratch + suffix) } }
        do {
            let copy = try AppDatabase.open(path: scratch, cipher: deployment.settings.cipher)
            let check = try await copy.integrityCheck()
            guard check == "ok" else { try fail("the backup fails its integrity check: \(check)") }
            // Opened with the configured keys: a backup sealed with a key that is not configured is refused here.
            _ = try await copy.reports(AppDatabase.ReportFilter())
            try await copy.checkpointTruncating()
        } catch let error as ExitCode {
            throw error
        } catch {
            try fail("\(error)")
        }
        if FileManager.default.fileExists(atPath: target) {
            try? FileManager.default.removeItem(atPath: target + ".before-restore")
            try FileManager.default.moveItem(atPath: target, toPath: target + ".before-restore")
            for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: target + suffix) }
        }
        try FileManager.default.copyItem(atPath: scratch, toPath: target)
        print("restored \(backup) to \(target) (integrity ok; the previous database is at \(target).before-restore)")
    }
}

struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a consistent copy of the database while the daemon runs.")
    @OptionGroup var options: CommonOptions
    @Argument(help: "The new backup file.") var path: String

    func run() async throws {
        let deployment = try options.loadDeployment()
        let database = try await deployment.settings.openDatabase()
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
