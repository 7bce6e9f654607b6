import Foundation
@testable import TiplineStore

/// Which backend this pass of the suite runs on: scripts/test runs it on SQLite, then again with
/// TIPLINE_TEST_BACKEND=postgresql (EndToEndTests has the same switch).
enum TestBackend {
    static var isPostgres: Bool { ProcessInfo.processInfo.environment["TIPLINE_TEST_BACKEND"] == "postgresql" }
    /// For tests of what only SQLite has (its file's settings, migrations of an old SQLite schema).
    static var isSQLite: Bool { !isPostgres }

    /// Runs `body` on a fresh, empty database of this pass's backend — a new database on the test cluster
    /// (`TIPLINE_TEST_POSTGRES_URL`) in the PostgreSQL pass, a SQLite file in a temporary folder otherwise — so that
    /// the store's tests hold for both. The database is closed after (PostgreSQL's connections; SQLite closes with
    /// its last reference).
    static func withDatabase(cipher: FieldCipher = .plaintext, _ body: (AppDatabase) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = if let url = try await PostgresBackend.scratchDatabaseForTests() {
            try await AppDatabase.open(postgres: try PostgresLocation(url: url), cipher: cipher)
        } else {
            try AppDatabase.open(path: folder.appendingPathComponent("db/tipline.sqlite").path, cipher: cipher)
        }
        try await database.closing(after: body)
    }
}
