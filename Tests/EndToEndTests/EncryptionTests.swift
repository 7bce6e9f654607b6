import CurlHTTP
import Foundation
import GRDB
import Testing
import TiplineProviders
import TiplineServer
@testable import TiplineStore

/// A stolen disk or backup names no child: personal values are sealed before they reach the file.
@Suite("End to end: encryption at rest")
struct EncryptionTests {
    let client = CurlClient()

    static let child = "Quyenthimyhanh"
    static let village = "Khuoi Vang"
    static let companion = "0987654321"
    static let reporter = "+84911222333"

    /// Every form in which a value could be written: as typed, folded, and a phone without its country code.
    static let needles = [child, child.uppercased(), village, village.uppercased(), "KHUOI VANG", companion, "987654321", "84987654321",
                          reporter, "911222333"]

    static func found(in path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return needles.filter { data.range(of: Data($0.utf8)) != nil }
    }

    /// A report naming the child, the village, a companion's phone and the reporter, and a note naming the child again,
    /// received over the webhook: read back whole, and found by the child's name in the staff log's search.
    func reportWithPersonalValues(_ fake: FakeTwilio, _ runtime: TiplineRuntime, _ port: Int) async throws {
        let text = "TRE \(Self.child) 14t nu thon \(Self.village) xa Lung Cu di HCM nguoi dua \(Self.companion)"
        #expect(try await postSMS(client, port: port, sid: "SM-enc-1", from: Self.reporter, body: text).status == 200)
        #expect(try await postSMS(client, port: port, sid: "SM-enc-2", from: Self.reporter, body: "BS 1001 \(Self.child) da goi ve").status == 200)
        _ = try await fake.waitFor { $0.count >= 3 }
        let report = try #require(try await runtime.database.report(number: 1001))
        #expect(report.parsed.child.name == Self.child && report.reporter == Self.reporter && report.text == text, "read back whole")
        #expect(report.parsed.origin.village == Self.village && report.parsed.companion.phone == "+84987654321")
        var filter = AppDatabase.ReportFilter()
        filter.query = Self.child.lowercased()
        #expect(try await runtime.database.reports(filter).map(\.number) == [1001], "found by whole word")
    }

    @Test("the database file, its WAL and a backup hold none of a report's personal values; they read back whole",
          .enabled(if: TestBackend.isSQLite, "the SQLite file's bytes"))
    func nothingInClearOnDisk() async throws {
        try await withTipline { fake, runtime, port in
            try await reportWithPersonalValues(fake, runtime, port)
            let path = runtime.deployment.current.settings.databasePath
            #expect(Self.found(in: path).isEmpty, "database file: \(Self.found(in: path))")
            #expect(Self.found(in: path + "-wal").isEmpty, "WAL: \(Self.found(in: path + "-wal"))")
            let backup = path + ".backup"
            try await runtime.database.backup(to: backup)
            defer { try? FileManager.default.removeItem(atPath: backup) }
            #expect(Self.found(in: backup).isEmpty, "backup: \(Self.found(in: backup))")
            // The backup holds ciphertext and no key: opened without the keys, a sealed value stays sealed.
            let copy = try AppDatabase.open(path: backup)
            let sealed = try await copy.dbRead { db in try String.fetchOne(db, sql: "SELECT reporter FROM report WHERE number = 1001") }
            #expect(sealed?.hasPrefix("enc1:t1:") == true)
        }
    }

    @Test("a pg_dump of the PostgreSQL database holds none of a report's personal values; they read back whole",
          .enabled(if: TestBackend.isPostgres, "PostgreSQL's dump"))
    func nothingInClearInDump() async throws {
        try await withTipline { fake, runtime, port in
            try await reportWithPersonalValues(fake, runtime, port)
            let location = try #require(runtime.deployment.current.settings.postgres)
            let dumpFile = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-dump-\(UUID().uuidString).sql")
            defer { try? FileManager.default.removeItem(at: dumpFile) }
            let dump = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                                ["pg_dump", "--host", location.host, "--port", "\(location.port)", "--username", location.username,
                                                 "--no-password", "--file", dumpFile.path, location.database],
                                                environment: ProcessInfo.processInfo.environment.merging(
                                                    ["PATH": "/usr/lib/postgresql/15/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin")]) { $1 })
            #expect(dump.status == 0, "\(dump.output)")
            #expect(try Data(contentsOf: dumpFile).count > 10_000, "a whole dump")
            #expect(Self.found(in: dumpFile.path).isEmpty, "dump: \(Self.found(in: dumpFile.path))")
        }
    }

    /// On this pass's backend (``ScratchDatabase``): the same database opened again with each set of keys.
    @Test("key rotation: old values readable with the new keys, new writes use the new key, rekey leaves nothing under the old one")
    func rotation() async throws {
        let scratch = try await ScratchDatabase()
        defer { scratch.remove() }
        let index = FieldCipher.newKey()
        let first = try FieldCipher.make(keys: [("k1", FieldCipher.newKey())], indexKey: index)
        let old = try await scratch.open(cipher: first)
        _ = try await old.write { store in
            var report = Report(parsed: ParsedMessageFixture.tip, channel: "sms", reporter: Self.reporter, text: "TRE \(Self.child)", receivedAt: Date())
            try store.insert(&report)
            var message = OutboundMessage(channel: "sms", recipient: Self.reporter, body: "hello", purpose: .reply, reportNumber: 1001, at: Date())
            try store.enqueue(&message)
            try store.setOptOut("+84900000999", optedOut: true, at: Date())
        }
        await old.close()
        let k1 = try #require(first.keys["k1"]).withUnsafeBytes { Data($0).base64EncodedString() }
        let second = try FieldCipher.make(keys: [("k2", FieldCipher.newKey()), ("k1", k1)], indexKey: index)
        let database = try await scratch.open(cipher: second)
        #expect(try await database.report(number: 1001)?.reporter == Self.reporter, "old values readable")
        _ = try await database.write { store in
            var report = Report(parsed: ParsedMessageFixture.tip, channel: "sms", reporter: "+84900000777", text: "TRE new", receivedAt: Date())
            try store.insert(&report)
        }
        func keyIDs() async throws -> Set<String> {
            try await database.sqlRead { session in
                var ids = Set<String>()
                for sql in ["SELECT reporter FROM report", "SELECT text FROM report", "SELECT parsed FROM report", "SELECT recipient FROM outbox",
                            "SELECT body FROM outbox", "SELECT detail FROM report_event WHERE detail IS NOT NULL"] {
                    for row in try session.rows(sql) { ids.insert(row[0].string.flatMap(FieldCipher.keyID(of:)) ?? "clear") }
                }
                return ids
            }
        }
        #expect(try await keyIDs() == ["k1", "k2"])
        let summary = try await database.rekey()
        #expect(summary.rows["report"] == 2)
        #expect(try await keyIDs() == ["k2"], "nothing left under k1")
        #expect(try await database.report(number: 1001)?.reporter == Self.reporter)
        #expect(try await database.write { store in try store.isOptedOut("+84900000999") }, "blind indexes unchanged")
        // Without k1 the rekeyed database is still whole.
        let onlyNew = try FieldCipher.make(keys: [("k2", try #require(second.keys["k2"]).withUnsafeBytes { Data($0).base64EncodedString() })], indexKey: index)
        let reopened = try await scratch.open(cipher: onlyNew)
        #expect(try await reopened.report(number: 1001)?.text == "TRE \(Self.child)")
        await reopened.close()
        await database.close()
    }

    @Test("serve and check-config refuse to start without a key unless the config says encryption: off")
    func refusedWithoutKey() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-nokey-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let deployment = try await TestDeployment(providerPort: 1)
        defer { deployment.remove() }
        var environment = deployment.environment
        environment["TIPLINE_ENCRYPTION_KEYS"] = nil
        environment["TIPLINE_INDEX_KEY"] = nil
        #expect { try Deployment.load(configPath: deployment.configPath, environment: environment) } throws: { error in
            "\(error)".contains("encryption: no encryption key")
        }
        let plain = try await TestDeployment(providerPort: 1, extra: "encryption: off")
        defer { plain.remove() }
        let off = try Deployment.load(configPath: plain.configPath, environment: environment)
        #expect(off.settings.cipher.isOn == false)
        _ = folder
    }
}

/// `tipline restore`: a backup is checked before it replaces the database.
@Suite("End to end: restore")
struct RestoreTests {
    /// Runs the built `tipline` executable with a deployment's environment; its exit status and output.
    static func tipline(_ arguments: [String], deployment: TestDeployment) async throws -> (Int32, String) {
        let run = try await Subprocess.run(TestDeployment.packageRoot.appendingPathComponent(".build/debug/tipline"),
                                           arguments + ["--config", deployment.configPath],
                                           environment: ProcessInfo.processInfo.environment.merging(deployment.environment) { $1 })
        return (run.status, run.output)
    }

    @Test("restore puts a good backup in place; it refuses a damaged one and one written by a newer tipline",
          .enabled(if: TestBackend.isSQLite, "SQLite's backup and restore; PostgreSQL's are pg_dump and pg_restore"))
    func restore() async throws {
        let deployment = try await TestDeployment(providerPort: 1)
        defer { deployment.remove() }
        let backup = deployment.folder.appendingPathComponent("backup.sqlite").path
        let newer = deployment.folder.appendingPathComponent("newer.sqlite").path
        let damaged = deployment.folder.appendingPathComponent("damaged.sqlite").path
        do {
            let database = try await deployment.runtime().database
            _ = try await database.write { store in
                var report = Report(parsed: ParsedMessageFixture.tip, channel: "sms", reporter: "+84900000901", text: "TRE Lan", receivedAt: Date())
                try store.insert(&report)
            }
            try await database.backup(to: backup)
            try await database.backup(to: newer)
            let future = try AppDatabase.open(path: newer)
            try await future.dbWrite { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')") }
            try await future.checkpointTruncating()
        }
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: damaged))
        let (refusedNewer, newerText) = try await Self.tipline(["restore", newer], deployment: deployment)
        #expect(refusedNewer != 0 && newerText.contains("newer tipline"), "\(newerText)")
        let (refusedDamaged, damagedText) = try await Self.tipline(["restore", damaged], deployment: deployment)
        #expect(refusedDamaged != 0 && damagedText.contains("restore refused"), "\(damagedText)")
        let (status, text) = try await Self.tipline(["restore", backup], deployment: deployment)
        #expect(status == 0, "\(text)")
        let restored = try AppDatabase.open(path: try await deployment.runtime().deployment.current.settings.databasePath,
                                            cipher: try await deployment.runtime().deployment.current.settings.cipher)
        #expect(try await restored.report(number: 1001)?.reporter == "+84900000901")
    }
}
