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
        }
    }

    @Test("graceful shutdown with webhooks in flight: every message answered 200 is stored")
    func shutdownWithRequestsInFlight() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try deployment.runtime()
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
            let stored = Set(try await runtime.database.reader.read { db in
                try String.fetchAll(db, sql: "SELECT provider_message_id FROM inbound_message")
            })
            let acknowledged = answered.values
            #expect(!acknowledged.isEmpty)
            #expect(acknowledged.isSubset(of: stored), "answered 200 but lost: \(acknowledged.subtracting(stored).sorted())")
        }
    }

    @Test("retention on a seeded database: what must go is gone, what must stay stays; dry run changes nothing")
    func retention() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-retention-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = try AppDatabase.open(path: folder.appendingPathComponent("t.sqlite").path)
        let now = Date()
        let old = now.addingTimeInterval(-400 * 86400)
        try await database.dbWrite { db in
            for (index, closedAt) in [old, now.addingTimeInterval(-10 * 86400)].enumerated() {
                var parsed = ParsedMessageFixture.tip
                parsed.companion.phone = "+84912345678"
                var report = Report(parsed: parsed, status: .closed, channel: "sms", reporter: "+8490000080\(index)",
                                    text: "TRE Lan 14t nu xa Lung Cu di HCM 0912345678", receivedAt: closedAt.addingTimeInterval(-86400))
                report.closedAt = closedAt
                try report.insert(db)
                var inbound = InboundMessage(channel: "sms", providerMessageID: "R\(index)", sender: report.reporter!, recipient: nil,
                                             body: report.text!, receivedAt: report.receivedAt, reportNumber: report.number)
                try inbound.insert(db)
                var event = ReportEvent(reportNumber: report.number!, at: closedAt, kind: "closed", actor: "lungcu-police", detail: "em da ve")
                try event.insert(db)
            }
            var open = Report(parsed: ParsedMessageFixture.tip, channel: "sms", reporter: "+84900000809", text: "TRE old but open", receivedAt: old)
            try open.insert(db)
            var entry = ChannelLogEntry(at: old, channel: "sms", direction: "out", kind: "send", status: 201, latencyMS: 3, error: nil)
            try entry.insert(db)
            try db.execute(sql: "INSERT INTO audit_log (at, actor, role, action) VALUES (?, 'desk', 'hotline', 'view_report')", arguments: [old])
        }
        let cutoffs = (closed: now.addingTimeInterval(-365 * 86400), log: now.addingTimeInterval(-30 * 86400), audit: now.addingTimeInterval(-730 * 86400))
        let dry = try await database.purge(closedBefore: cutoffs.closed, channelLogBefore: cutoffs.log, auditBefore: cutoffs.audit, now: now, dryRun: true)
        #expect(dry.anonymisedReports == 1 && dry.channelLogEntries == 1 && dry.auditEntries == 0)
        #expect(try await database.report(number: 1001)?.text != nil, "a dry run changes nothing")

        _ = try await database.purge(closedBefore: cutoffs.closed, channelLogBefore: cutoffs.log, auditBefore: cutoffs.audit, now: now, dryRun: false)
        let purged = try #require(try await database.report(number: 1001))
        #expect(purged.text == nil && purged.reporter == nil && purged.parsed.companion.phone == nil)
        #expect(purged.parsed.child.age == 14 && purged.parsed.child.name == "Lan", "the case's facts stay")
        #expect(purged.parsed.origin.areaCode == "715")
        let timeline = try await database.timeline(number: 1001)
        #expect(timeline.contains { $0.kind == "closed" && $0.detail == nil && $0.actor == "lungcu-police" })
        #expect(timeline.last?.kind == "anonymised")
        let inbound = try await database.reader.read { db in try Row.fetchOne(db, sql: "SELECT body, sender FROM inbound_message WHERE report_number = 1001") }
        #expect((inbound?["body"] as String?) == nil && (inbound?["sender"] as String?) == "")
        #expect(try await database.report(number: 1002)?.text != nil, "closed 10 days ago: kept")
        #expect(try await database.report(number: 1003)?.reporter != nil, "open: kept whatever its age")
        #expect(try await database.channelLog(channel: nil, since: nil, limit: 10).isEmpty)
        #expect(try await database.auditLog(limit: 10).count == 1)
    }

    @Test("a backup taken under write load opens and passes PRAGMA integrity_check")
    func backupUnderLoad() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try deployment.runtime()
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
