import CurlHTTP
import Foundation
import Logging
import TiplineProviders
import TiplineServer
import TiplineStore

/// Which backend the suite runs on: scripts/test runs it on SQLite, then again with TIPLINE_TEST_BACKEND=postgresql.
enum TestBackend {
    static var isPostgres: Bool { ProcessInfo.processInfo.environment["TIPLINE_TEST_BACKEND"] == "postgresql" }
    /// For tests of what only the SQLite file has (its bytes on disk, `tipline backup` and `restore`).
    static var isSQLite: Bool { !isPostgres }
}

/// A deployment in a temporary folder: the sample reference data and roster, a real SQLite file, and one Twilio-format
/// channel `sms` pointing at a loopback provider.
struct TestDeployment {
    let folder: URL
    let environment: [String: String]

    /// Encryption keys for tests (fictional, used nowhere else).
    static let testKeys = "t1:ZHoRnapaLVyFwuRjXC4tUQn9iykbursV5L+beaO4Wlo="
    static let testIndexKey = "j1RxP5h8Ca++aoRhY2MysVhEhKXqfvd77juFKKbm+kA="

    /// A USSD channel (`extra:`), Africa's Talking's protocol at `/channels/ussd/ussd`, callbacks from loopback only.
    static let ussdChannel = """
      ussd:
        provider: ussd
        service_code: "*123#"
        sms_channel: sms
        allowed_sources: ["127.0.0.1", "::1"]
    """

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    init(providerPort: Int, account: String = "ACtest0000000000000000000000000000", verify: Bool = false,
         extra: String = "", environment: [String: String] = [:], sendTimeout: Double = 10, maxAttempts: Int = 5,
         segmentsPerSecond: Double = 1000) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-test-\(UUID().uuidString)")
        let config = folder.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        for file in ["areas.csv", "places.csv", "roster.yaml", "replies.yaml", "escalation.yaml", "ussd.yaml", "vocabulary.yaml"] {
            try FileManager.default.copyItem(at: Self.packageRoot.appendingPathComponent("config/\(file)"),
                                             to: config.appendingPathComponent(file))
        }
        // These tests run on the real clock: the sample's quiet hours (21:00–07:00 in Vietnam, when normal tips' alerts
        // wait for the morning) would hold their alerts whenever they run in the evening. None instead (a start equal
        // to the end: a window of one minute still held every alert of a suite run in it).
        let escalation = config.appendingPathComponent("escalation.yaml")
        let policy = try String(contentsOf: escalation, encoding: .utf8)
            .replacingOccurrences(of: #"quiet_hours: {from: "21:00", to: "07:00"}"#, with: #"quiet_hours: {from: "03:00", to: "03:00"}"#)
        try policy.write(to: escalation, atomically: true, encoding: .utf8)
        let yaml = """
        server:
          host: 127.0.0.1
          port: 0
          public_url: https://tipline.example.org
        database:
          path: ../data/tipline.sqlite
        timezone: Asia/Ho_Chi_Minh
        outbound_channel: sms
        alerts:
          # The sample roster's numbers are fictional: taken as confirmed here (RosterConfirmationTests checks the invitations).
          confirm_officer_numbers: false
        outbox:
          max_attempts: \(maxAttempts)
          base_delay_seconds: 0.05
          max_delay_seconds: 0.2
          send_timeout_seconds: \(sendTimeout)
          segments_per_second: \(segmentsPerSecond)
        channels:
          sms:
            provider: twilio
            number: "+84900000002"
            base_url: http://127.0.0.1:\(providerPort)
            account_sid: \(account)
            verify_requests: \(verify)
        \(extra)
        """
        try yaml.write(to: config.appendingPathComponent("tipline.yaml"), atomically: true, encoding: .utf8)
        var database: [String: String] = [:]
        if let url = try await PostgresBackend.scratchDatabaseForTests() { database["TIPLINE_DATABASE_URL"] = url }
        self.environment = ["TIPLINE_CHANNEL_SMS_AUTH_TOKEN": "test-auth-token", "TIPLINE_ENCRYPTION_KEYS": Self.testKeys,
                            "TIPLINE_INDEX_KEY": Self.testIndexKey].merging(database) { $1 }.merging(environment) { $1 }
    }

    var configPath: String { folder.appendingPathComponent("config/tipline.yaml").path }
    var databasePath: String { folder.appendingPathComponent("data/tipline.sqlite").path }

    func load() throws -> Deployment {
        try Deployment.load(configPath: configPath, environment: environment)
    }

    func runtime() async throws -> TiplineRuntime {
        var logger = Logger(label: "tipline-test")
        logger.logLevel = .warning
        return try await TiplineRuntime.make(deployment: try load(), logger: logger)
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Runs tipline on a loopback port for the duration of `body`.
func runTipline<T: Sendable>(_ runtime: TiplineRuntime, _ body: (Int) async throws -> T) async throws -> T {
    try await withRunning({ onRunning in try await buildApplication(runtime, port: 0, onServerRunning: onRunning) }, body)
}

/// Posts a Twilio-format inbound SMS webhook with libcurl.
func postSMS(_ client: CurlClient, port: Int, channel: String = "sms", sid: String, from: String, body: String,
             headers: [(name: String, value: String)] = []) async throws -> CurlResponse {
    let form = FormBody.encode([("MessageSid", sid), ("AccountSid", "ACtest"), ("From", from), ("To", "+84900000002"),
                                ("Body", body), ("NumSegments", "1")])
    return try await client.execute(CurlRequest(
        method: "POST", url: "http://127.0.0.1:\(port)/channels/\(channel)/sms",
        headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: Array(form.utf8)))
}
