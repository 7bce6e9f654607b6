import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check settings, roster, areas, places and replies together; exit non-zero on an error."
    )

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let deployment = try options.loadDeployment()
        for warning in deployment.warnings {
            print("warning: \(warning)")
        }
        let settings = deployment.settings
        print("ok: \(options.configPath): \(deployment.gazetteer.areas.count) areas, \(deployment.gazetteer.places.count) places, "
              + "\(deployment.roster.officers.count) officers, channels \(settings.channels.keys.sorted().joined(separator: ", "))")
        // A PostgreSQL database is reached, as the daemon will reach it: its address, user, password and TLS checked
        // before a deployment counts on them. (A SQLite file is made where it is missing.)
        if let location = settings.postgres {
            let backend = PostgresBackend(location)
            do {
                let state = try await backend.schemaState()
                await backend.close()
                print("ok: database \(location.redacted): \(state)")
            } catch {
                await backend.close()
                print("error: database: \(error)")
                throw ExitCode(78) // EX_CONFIG
            }
        }
    }
}
