import CurlHTTP
import Foundation
import Logging
import Testing
import TiplineProviders
@testable import TiplineServer
import TiplineStore

/// The production configuration of docs/operations.md, started as written and probed from outside.
@Suite("End to end: the production configuration")
struct ProductionConfigTests {
    let client = CurlClient()

    /// The first YAML block under "## A production configuration" in docs/operations.md.
    static func productionYAML() throws -> String {
        let doc = try String(contentsOf: TestDeployment.packageRoot.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        let section = try #require(doc.range(of: "## A production configuration"))
        let rest = doc[section.upperBound...]
        let start = try #require(rest.range(of: "```yaml\n"))
        let end = try #require(rest[start.upperBound...].range(of: "```"))
        return String(rest[start.upperBound..<end.lowerBound])
    }

    /// Routes that answer anyone: providers' webhooks (each verified by its provider's signature or token), liveness,
    /// the sign-in page, and the API's description.
    static func isPublic(_ method: String, _ path: String) -> Bool {
        path.hasPrefix("/channels/") || path == "/health/live" || path == "/login" || path == "/api/v1/openapi.yaml"
            || path.hasPrefix("/static/")
    }

    @Test("only the channel webhooks, liveness and the sign-in page answer without authentication; no training tool exists")
    func nothingAnswersAnonymously() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-production-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        for file in ["areas.csv", "places.csv", "roster.yaml", "replies.yaml", "escalation.yaml", "ussd.yaml", "vocabulary.yaml"] {
            try FileManager.default.copyItem(at: TestDeployment.packageRoot.appendingPathComponent("config/\(file)"), to: config.appendingPathComponent(file))
        }
        try Self.productionYAML().write(to: config.appendingPathComponent("tipline.yaml"), atomically: true, encoding: .utf8)
        let environment = [
            "TIPLINE_DATABASE_PATH": folder.appendingPathComponent("tipline.sqlite").path,
            "TIPLINE_SERVER_PORT": "0",
            "TIPLINE_CHANNEL_TWILIO_AUTH_TOKEN": "production-test-token",
            "TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN": "production-ussd-token",
            "TIPLINE_SERVER_OPERATOR_TOKEN": "production-operator-token",
            "TIPLINE_ENCRYPTION_KEYS": TestDeployment.testKeys,
            "TIPLINE_INDEX_KEY": TestDeployment.testIndexKey,
        ]
        let deployment = try Deployment.load(configPath: config.appendingPathComponent("tipline.yaml").path, environment: environment)
        #expect(deployment.settings.training.enabled == false)
        #expect(deployment.settings.confirmOfficerNumbers)
        var logger = Logger(label: "production")
        logger.logLevel = .error
        let runtime = try await TiplineRuntime.make(deployment: deployment, logger: logger)
        let routes = buildRouter(runtime, templates: try await WebController.loadLibrary()).routes
        #expect(!routes.contains { $0.path.description.hasPrefix("/simulator") }, "no training route is registered")
        #expect(!routes.contains { $0.path.description.hasPrefix("/phone") }, "no phone page")
        try await withRunning({ onRunning in try await buildApplication(runtime, port: 0, onServerRunning: onRunning) }) { port in
            var probed = 0
            for route in routes {
                let method = route.method.rawValue
                let path = route.path.description
                guard !Self.isPublic(method, path) else { continue }
                let concrete = path.split(separator: "/").map { $0.hasPrefix(":") ? "1001" : String($0) }.joined(separator: "/")
                let response = try await client.execute(CurlRequest(method: method, url: "http://127.0.0.1:\(port)/\(concrete)",
                                                                    headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                                    body: method == "GET" ? [] : Array("a=1".utf8)))
                let toSignIn = response.status == 303 && (response.header("Location") ?? "").hasPrefix("/login")
                #expect(toSignIn || [401, 403, 404, 405].contains(response.status), "\(method) \(path) answered \(response.status) without authentication")
                probed += 1
            }
            #expect(probed >= 15)
            for path in ["/simulator/messages", "/phone", "/simulator/ussd"] {
                let response = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)\(path)"))
                #expect([404, 405].contains(response.status) || (response.status == 303 && path == "/phone"), "\(path): \(response.status)")
            }
            // The operator endpoints answer with the operator token only.
            let ready = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/health/ready",
                                                             headers: [("Authorization", "Bearer production-operator-token")]))
            #expect([200, 503].contains(ready.status))
            #expect(try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/health/live")).status == 200)
        }
    }
}
