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
                // Not reached (down, refused, no answer): 74 as `serve` exits, so monitoring reads an outage, not a
                // configuration to fix; refused by the server (user, password, database) or newer than this tipline: 78.
                throw ExitCode((error as? SQLError)?.connectionLost == true ? 74 : 78)
            }
        }
    }
}
