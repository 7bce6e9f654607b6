import Foundation
import TiplineStore

/// A fresh, empty database for a store-level test, on this pass's backend (``TestBackend``): a new database on the
/// test cluster in the PostgreSQL pass, a SQLite file in a temporary folder otherwise. It can be opened more than once
/// (key rotation opens it again with other keys); each database opened is closed by the test, and `remove()` deletes
/// the folder (the PostgreSQL cluster is thrown away whole after the suite).
struct ScratchDatabase {
    let folder: URL
    /// The scratch database's URL in the PostgreSQL pass; nil on SQLite.
    let postgresURL: String?

    init() async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-store-\(UUID().uuidString)")
        postgresURL = try await PostgresBackend.scratchDatabaseForTests()
    }

    func open(cipher: FieldCipher = .plaintext) async throws -> AppDatabase {
        if let postgresURL { return try await AppDatabase.open(postgres: try PostgresLocation(url: postgresURL), cipher: cipher) }
        return try AppDatabase.open(path: folder.appendingPathComponent("t.sqlite").path, cipher: cipher)
    }

    func remove() {
        try? FileManager.default.removeItem(at: folder)
    }
}
