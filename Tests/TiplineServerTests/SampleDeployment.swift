import Foundation
import TiplineServer
import TiplineStore

enum SampleDeployment {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var configPath: String { root.appendingPathComponent("config/tipline.yaml").path }

    /// The sample deployment in config/, as shipped.
    /// Encryption keys for tests (fictional, used nowhere else).
    static let keys = ["TIPLINE_ENCRYPTION_KEYS": "t1:ZHoRnapaLVyFwuRjXC4tUQn9iykbursV5L+beaO4Wlo=",
                       "TIPLINE_INDEX_KEY": "j1RxP5h8Ca++aoRhY2MysVhEhKXqfvd77juFKKbm+kA=",
                       // The sample's secrets file is written on a training server's first start: not in tests.
                       "TIPLINE_SECRETS_FILE": ""]

    static func load(environment: [String: String] = [:]) throws -> Deployment {
        try Deployment.load(configPath: configPath, environment: keys.merging(environment) { $1 })
    }

    /// Where a test's database is: a SQLite file in `folder`, or a fresh PostgreSQL database when the suite runs on
    /// PostgreSQL (`TIPLINE_TEST_BACKEND=postgresql`).
    /// A second start on the same folder finds the same database (its URL is kept in the folder).
    static func databaseEnvironment(folder: URL) async throws -> [String: String] {
        let kept = folder.appendingPathComponent("database-url")
        if let url = try? String(contentsOf: kept, encoding: .utf8) { return ["TIPLINE_DATABASE_URL": url] }
        if let url = try await PostgresBackend.scratchDatabaseForTests() {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try url.write(to: kept, atomically: true, encoding: .utf8)
            return ["TIPLINE_DATABASE_URL": url]
        }
        return ["TIPLINE_DATABASE_PATH": folder.appendingPathComponent("t.sqlite").path]
    }

    /// A copy of config/ in a temporary folder, with `edit` applied to one file, for broken-config tests.
    static func copy(editing file: String? = nil, _ edit: (String) -> String = { $0 }) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["tipline.yaml", "areas.csv", "places.csv", "roster.yaml", "replies.yaml", "escalation.yaml", "ussd.yaml", "vocabulary.yaml"] {
            var text = try String(contentsOf: root.appendingPathComponent("config/\(name)"), encoding: .utf8)
            if name == file { text = edit(text) }
            try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return folder
    }
}
