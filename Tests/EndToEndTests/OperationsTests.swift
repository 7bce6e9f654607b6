import CurlHTTP
import Foundation
import GRDB
import Synchronization
import Testing
import TiplineCore
import TiplineProviders
@testable import TiplineServer
@testable import TiplineStore

@Suite("Operations")
struct OperationsTests {
    let client = CurlClient()

    @Test("health and metrics after a known sequence of messages")
    func healthAndMetrics() async throws {
        try await withTipline { fake, runtime, port in
            #expect(try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/health/live")).status == 200)
            for (index, text) in ["TRE Lan 14t nu xa Lung Cu di HCM", "TRE Lan", "KHAN be gai 12t xa Meo Vac", "alo", "HD"].enumerated() {
                _ = try await postSMS(client, port: port, sid: "SM-m\(index)", from: "+8490000060\(index)", body: text)
            }
            _ = try await postSMS(client, port: port, sid: "SM-m0", from: "+84900000600", body: "TRE Lan 14t nu xa Lung Cu di HCM")
            _ = try await postSMS(client, port: port, channel: "nope", sid: "x", from: "+84900000600", body: "x")
            _ = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent } }

            let ready = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/health/ready"))
            #expect(ready.status == 200)
            let health = try #require(try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any])
            #expect(health["database_writable"] as? Bool == true)
            #expect(health["dispatcher_running"] as? Bool == true)
            #expect(health["escalation_running"] as? Bool == true)
            #expect(((health["channels"] as? [String: Any])?["sms"] as? [String: Any])?["last_call_ok"] as? Bool == true)

            let metrics = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/metrics")).bodyText
            for line in [
                #"tipline_inbound_messages_total{channel="sms",kind="tip"} 2"#,
                #"tipline_inbound_messages_total{channel="sms",kind="alert"} 1"#,
                #"tipline_inbound_messages_total{channel="sms",kind="unknown"} 1"#,
                #"tipline_inbound_messages_total{channel="sms",kind="command"} 1"#,
                #"tipline_parse_outcomes_total{outcome="partial"} 1"#,
                #"tipline_parse_outcomes_total{outcome="complete"} 2"#,
                #"tipline_inbound_duplicates_total{channel="sms"} 1"#,
                #"tipline_webhook_rejections_total{channel="unknown",reason="unknown_channel"} 1"#,
                #"tipline_reports{status="open"} 4"#,
                #"tipline_outbox_messages{state="queued"} 0"#,
                "tipline_outbox_oldest_pending_seconds 0",
            ] {
                #expect(metrics.contains(line), "\(line)\n\(metrics)")
            }
            #expect(metrics.contains(#"tipline_outbound_messages_total{channel="sms",state="sent"}"#))
            #expect(metrics.contains("tipline_provider_request_duration_seconds_bucket"))
            // PostgreSQL: the instance's transactions against database.max_connections.
            if runtime.database.dialect == .postgresql {
                #expect(metrics.contains("tipline_database_transactions_limit 32"), "\(metrics)")
                #expect(metrics.contains(#"tipline_database_transactions{state="waiting"} 0"#))
            } else {
                #expect(!metrics.contains("tipline_database_transactions"))
            }
        }
    }

    @Test("graceful shutdown with webhooks in flight: every message answered 200 is stored")
    func shutdownWithRequestsInFlight() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            let answered = Collected()
            let client = self.client
            let inFlight = try await runTipline(runtime) { port -> Task<Void, Never> in
                let posting = Task {
                    await withTaskGroup(of: Void.self) { group in
                        for index in 0..<200 {
                            group.addTask {
                                let sid = "SM-shut-\(index)"
                                if let response = try? await postSMS(client, port: port, sid: sid, from: "+849000007\(String(format: "%02d", index % 100))",
                                                                     body: "TRE Lan \(index % 17 + 1)t nu xa Lung Cu di HCM"),
                                   response.status == 200 {
                                    answered.insert(sid)
                                }
                            }
                        }
                    }
                }
                // Shut down while requests are still arriving (bounded wait).
                let deadline = ContinuousClock.now + .seconds(20)
                while answered.count < 30, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
                return posting
            }
            await inFlight.value
            let stored = Set(try await runtime.database.sqlRead { session in
                try session.rows("SELECT provider_message_id FROM inbound_message").compactMap { $0[0].string }
            })
            let acknowledged = answered.values
            #expect(!acknowledged.isEmpty)
            #expect(acknowledged.isSubset(of: stored), "answered 200 but lost: \(acknowledged.subtracting(stored).sorted())")
        }
    }

    @Test("a backup taken under write load opens and passes PRAGMA integrity_check", .enabled(if: TestBackend.isSQLite, "SQLite's backup; PostgreSQL's is pg_dump"))
    func backupUnderLoad() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            let backup = deployment.folder.appendingPathComponent("backup/tipline-backup.sqlite").path
            try await runTipline(runtime) { port in
                let client = self.client
                let load = Task {
                    for index in 0..<150 {
                        _ = try? await postSMS(client, port: port, sid: "SM-b\(index)", from: "+84900000900", body: "TRE Lan 14t nu xa Lung Cu di HCM")
                    }
                }
                // Back up while the writes are under way (bounded wait for the first ones).
                let deadline = ContinuousClock.now + .seconds(20)
                while try await runtime.database.inboundCount() < 10, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                try await runtime.database.backup(to: backup)
                await load.value
                await #expect(throws: AppDatabase.BackupError.self) { try await runtime.database.backup(to: backup) }
            }
            let copy = try AppDatabase.open(path: backup)
            #expect(try await copy.integrityCheck() == "ok")
            #expect(try await copy.inboundCount() > 0)
        }
    }

    @Test("a database written by a newer tipline is refused with a clear message")
    func newerSchemaRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-schema-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("t.sqlite").path
        let database = try AppDatabase.open(path: path)
        try await database.writer.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')") }
        #expect { try AppDatabase.open(path: path) } throws: { error in
            "\(error)".contains("written by a newer tipline") && "\(error)".contains("v99: from the future")
        }
    }
}

enum ParsedMessageFixture {
    static var tip: TiplineCore.ParsedMessage {
        var parsed = TiplineCore.ParsedMessage(kind: .tip)
        parsed.child = .init(name: "Lan", age: 14, sex: .female)
        parsed.origin = .init(areaCode: "715", areaName: "Xã Lũng Cú")
        parsed.destination = .init(text: "HCM", code: "79", name: "Thành phố Hồ Chí Minh", country: "VN")
        return parsed
    }
}


final class Collected: Sendable {
    private let storage = Mutex<Set<String>>([])
    func insert(_ value: String) { storage.withLock { _ = $0.insert(value) } }
    var count: Int { storage.withLock { $0.count } }
    var values: Set<String> { storage.withLock { $0 } }
}
