import ArgumentParser
import Foundation
import TiplineServer

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
    }
}
