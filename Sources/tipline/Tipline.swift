import ArgumentParser
import Foundation
import Logging
import TiplineServer

@main
struct Tipline: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tipline",
        abstract: "SMS/USSD community reporting gateway for child protection.",
        subcommands: [Serve.self, Parse.self, CheckConfig.self, Log.self, Show.self, Stats.self, Token.self, User.self, ChannelLog.self, Audit.self, Purge.self, Erase.self, Backup.self, Restore.self, Keys.self, Rekey.self, Seed.self, MigrateToPostgres.self]
    )
}

/// Options every command shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "The settings file (default: $TIPLINE_CONFIG or config/tipline.yaml).")
    var config: String?

    var configPath: String {
        config ?? ProcessInfo.processInfo.environment["TIPLINE_CONFIG"] ?? "config/tipline.yaml"
    }

    /// Loads the deployment, or prints every problem and exits non-zero.
    func loadDeployment() throws -> Deployment {
        try reading { try Deployment.load(configPath: configPath) }
    }

    /// The settings file alone, for commands that only read the database (same errors, same exit).
    func loadSettings() throws -> Settings {
        try reading { try Deployment.loadSettings(configPath: configPath) }
    }

    private func reading<T>(_ load: () throws -> T) throws -> T {
        do {
            return try load()
        } catch {
            FileHandle.standardError.write(Data("tipline: configuration error\n\(error)\n".utf8))
            throw ExitCode(78) // EX_CONFIG
        }
    }
}
