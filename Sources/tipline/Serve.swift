import ArgumentParser
import Foundation
import Logging
import TiplineServer

#if canImport(Glibc)
import Glibc
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway: webhooks, routing and the outbox.")

    @OptionGroup var options: CommonOptions

    @Option(help: "Log format: text (for a terminal) or json (one object a line).")
    var logFormat: String = "text"

    @Option(help: "Log level (trace, debug, info, notice, warning, error, critical); default $LOG_LEVEL or info.")
    var logLevel: String?

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        guard let format = LogFormat(rawValue: logFormat) else {
            throw ValidationError("--log-format must be text or json")
        }
        let levelName = logLevel ?? ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName.lowercased()) else {
            throw ValidationError("log level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        format.bootstrap(level: level)
        let logger = Logger(label: "tipline")
        let deployment = try options.loadDeployment()
        for warning in deployment.warnings {
            logger.warning("\(warning)")
        }
        let runtime: TiplineRuntime
        do {
            runtime = try await TiplineRuntime.make(deployment: deployment, logger: logger)
        } catch {
            logger.critical("cannot open the database", metadata: ["path": "\(deployment.settings.databaseDescription)", "error": "\(error)"])
            throw ExitCode(74) // EX_IOERR
        }
        let settings = deployment.settings
        logger.info("tipline starting", metadata: [
            "listen": "\(settings.host):\(settings.port)", "database": "\(settings.databaseDescription)",
            "channels": "\(settings.channels.keys.sorted().joined(separator: ","))",
        ])
        for name in settings.channels.keys.sorted() {
            logger.info("channel webhooks", metadata: [
                "channel": "\(name)", "provider": "\(settings.channels[name]!.provider.rawValue)",
                "inbound": "\(settings.publicURL)/channels/\(name)/sms", "status": "\(settings.publicURL)/channels/\(name)/status",
            ])
        }
        for name in settings.ussdChannels.keys.sorted() {
            logger.info("USSD callback", metadata: ["channel": "\(name)", "url": "\(settings.publicURL)/channels/\(name)/ussd"])
        }
        let app = try await buildApplication(runtime)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
