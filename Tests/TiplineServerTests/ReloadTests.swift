import Foundation
import Logging
import Testing
@testable import TiplineServer

@Suite("Reload on SIGHUP")
struct ReloadTests {
    @Test("a changed roster comes into force; a broken one is refused and the running one stays")
    func reload() throws {
        let folder = try SampleDeployment.copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("tipline.yaml").path
        let holder = DeploymentHolder(try Deployment.load(configPath: config, environment: SampleDeployment.keys))
        let service = ReloadService(deployment: holder, logger: Logger(label: "test"))
        let roster = folder.appendingPathComponent("roster.yaml")
        let original = try String(contentsOf: roster, encoding: .utf8)

        try (original + """
          - id: new-officer
            name: Ma Thi Ly
            phone: "+84900000150"
            role: officer
            areas: ["700"]

        """).write(to: roster, atomically: true, encoding: .utf8)
        #expect(service.reload())
        #expect(holder.current.roster.officer(id: "new-officer") != nil)

        try original.replacingOccurrences(of: "role: hotline", with: "role: boss").write(to: roster, atomically: true, encoding: .utf8)
        #expect(!service.reload())
        #expect(holder.current.roster.officer(id: "new-officer") != nil, "the running roster stays")
    }
}
