import Foundation
import Testing
import TiplineCore
import TiplineServer
@testable import TiplineStore

/// Retention, one test per row of the table in docs/operations.md; erasure on request. On this pass's backend.
@Suite("Retention and erasure")
struct RetentionTests {
    static let now = Date()
    static func daysAgo(_ days: Double) -> Date { now.addingTimeInterval(-days * 86400) }

    /// A database with encryption on (as deployed), on this pass's backend (``ScratchDatabase``).
    static func withDatabase(_ body: (AppDatabase) async throws -> Void) async throws {
        let scratch = try await ScratchDatabase()
        defer { scratch.remove() }
        let cipher = try FieldCipher.make(keys: [("t1", TestDeployment.testKeys.split(separator: ":")[1].description)], indexKey: TestDeployment.testIndexKey)
        try await scratch.open(cipher: cipher).closing(after: body)
    }

    static var tip: ParsedMessage {
        var parsed = ParsedMessageFixture.tip
        parsed.child.name = "Lan"
        parsed.origin.village = "Lung Tao"
        parsed.companion = .init(name: "Chi Hoa", phone: "+84912345678")
        parsed.note = "em noi se ve"
        return parsed
    }

    /// A report with its inbound message, reply, alert, a note and a USSD session, received `age` days ago.
    @discardableResult
    static func seed(_ database: AppDatabase, status: Report.Status, age: Double, closedAge: Double? = nil, reporter: String = "+84900000801") async throws -> Int {
        try await database.write { store in
            var report = Report(parsed: tip, status: status, channel: "sms", reporter: reporter, text: "TRE Lan 14t nu thon Lung Tao xa Lung Cu",
                                receivedAt: daysAgo(age))
            report.closedAt = closedAge.map(daysAgo)
            report.result = closedAge == nil ? nil : "em da ve"
            try store.insert(&report)
            let number = report.number!
            var inbound = InboundMessage(channel: "sms", providerMessageID: "M\(number)", sender: reporter, recipient: nil, body: report.text!,
                                         receivedAt: report.receivedAt)
            _ = try store.insertOnce(&inbound)
            try store.link(inbound: inbound.id, to: number, reported: true)
            var reply = OutboundMessage(channel: "sms", recipient: reporter, body: "Da nhan bao cao so \(number)", purpose: .acknowledgement,
                                        reportNumber: number, at: report.receivedAt)
            try store.enqueue(&reply)
            var alert = OutboundMessage(channel: "sms", recipient: "+84900000101", body: "#\(number) Lan 14t nu Lung Cu", purpose: .alert,
                                        reportNumber: number, at: report.receivedAt)
            try store.enqueue(&alert)
            try store.addEvent(number, at: report.receivedAt, kind: "note", actor: "lungcu-police", detail: "gia dinh cua Lan noi...")
            try store.save(UssdSessionRecord(id: "S\(number)", channel: "ussd", phone: reporter, state: UssdState(), lastText: "1*Lan*14",
                                             responses: ["1*Lan": "CON Tre bao nhieu tuoi?"], finished: true, reportNumber: number,
                                             createdAt: report.receivedAt, updatedAt: report.receivedAt))
            return number
        }
    }

    /// Everything personal the database still holds about a report, opened with the key.
    static func personal(_ database: AppDatabase, _ number: Int) async throws -> [String] {
        let report = try #require(try await database.report(number: number))
        var values = [report.reporter, report.text, report.result, report.parsed.child.name, report.parsed.companion.phone,
                      report.parsed.companion.name, report.parsed.origin.village, report.parsed.note].compactMap { $0 }
        values += try await database.outboundMessages(reportNumber: number).filter { $0.purpose != .alert }.map(\.recipient).filter { !$0.isEmpty }
        values += try await database.outboundMessages(reportNumber: number).map(\.body).filter { !$0.isEmpty }
        values += try await database.timeline(number: number).filter { $0.kind == "note" }.compactMap(\.detail)
        values += try await database.sqlRead { session in
            try session.rows("SELECT session_id FROM ussd_session WHERE report_number = ?", number).compactMap { $0["session_id"].string }
        }
        return values
    }

    @Test("report, closed: its personal values erased closed_case_days after closing; its facts and timeline stay")
    func closedCase() async throws {
        try await Self.withDatabase { database in
            let old = try await Self.seed(database, status: .closed, age: 400, closedAge: 380)
            let recent = try await Self.seed(database, status: .closed, age: 20, closedAge: 10, reporter: "+84900000802")
            let dry = try await database.purge(RetentionPolicy(), now: Self.now, dryRun: true)
            #expect(dry.anonymisedReports == 1)
            #expect(try await Self.personal(database, old).count > 3, "a dry run changes nothing")
            _ = try await database.purge(RetentionPolicy(), now: Self.now, dryRun: false)
            #expect(try await Self.personal(database, old) == [], "inbound, answers, alert texts, notes and the USSD session too")
            let report = try #require(try await database.report(number: old))
            #expect(report.parsed.child.age == 14 && report.parsed.origin.areaCode == report.parsed.origin.areaCode && report.status == .closed)
            #expect(try await database.timeline(number: old).last?.kind == "anonymised")
            #expect(try await Self.personal(database, recent).count > 3, "closed 10 days ago: kept")
            let inbound = try await database.sqlRead { session -> [String?] in
                let row = try session.row("SELECT body, sender FROM inbound_message WHERE report_number = ?", old)
                return [row?["body"].string, row?["sender"].string]
            }
            #expect(inbound == [nil, ""])
        }
    }

    @Test("report, never closed: staff warned at unclosed_warn_days, personal values erased at unclosed_case_days")
    func unclosedCase() async throws {
        try await Self.withDatabase { database in
            let warned = try await Self.seed(database, status: .open, age: 100)
            let erased = try await Self.seed(database, status: .partial, age: 200, reporter: "+84900000803")
            let young = try await Self.seed(database, status: .open, age: 10, reporter: "+84900000804")
            let summary = try await database.purge(RetentionPolicy(), now: Self.now, dryRun: false)
            #expect(summary.warnedReports == 1 && summary.anonymisedReports == 1)
            #expect(try await database.timeline(number: warned).contains { $0.kind == "retention_warning" })
            #expect(try await Self.personal(database, warned).count > 3, "warned, not yet erased")
            #expect(try await Self.personal(database, erased) == [])
            #expect(try await Self.personal(database, young).count > 3)
            #expect(try await database.purge(RetentionPolicy(), now: Self.now, dryRun: false).warnedReports == 0, "warned once")
        }
    }

    @Test("inbound messages and answers tied to no report, USSD sessions, group-warning keys and early delivery reports: after unlinked_days")
    func unlinked() async throws {
        try await Self.withDatabase { database in
            try await database.write { store in
                var help = InboundMessage(channel: "sms", providerMessageID: "H1", sender: "+84900000805", recipient: nil, body: "HD",
                                          receivedAt: Self.daysAgo(40))
                _ = try store.insertOnce(&help)
                var answer = OutboundMessage(channel: "sms", recipient: "+84900000805", body: "Huong dan ...", purpose: .reply, reportNumber: nil,
                                             at: Self.daysAgo(40))
                answer.state = .sent
                try store.enqueue(&answer)
                try store.save(UssdSessionRecord(id: "dropped", channel: "ussd", phone: "+84900000805", state: UssdState(), lastText: "1*Mai",
                                                 responses: [:], finished: true, reportNumber: nil, createdAt: Self.daysAgo(40), updatedAt: Self.daysAgo(40)))
                try store.recordGroupWarning(key: "companion:+84912345678", at: Self.daysAgo(40), reports: "2 reports")
                // More unlinked messages than one delete batch (below: 2), so the purge takes several turns.
                for index in 2...6 {
                    var other = InboundMessage(channel: "sms", providerMessageID: "H\(index)", sender: "+8490000080\(index)", recipient: nil, body: "HD",
                                               receivedAt: Self.daysAgo(40))
                    _ = try store.insertOnce(&other)
                }
            }
            try await database.sqlWrite { session in
                try session.execute("INSERT INTO pending_delivery_report (channel, provider_message_id, state, at) VALUES ('sms', 'SMx', 'delivered', ?)",
                                    Self.daysAgo(40))
            }
            _ = try await database.purge(RetentionPolicy(), now: Self.now, dryRun: false, deleteBatch: 2)
            let left = try await database.sqlRead { session in
                try ["inbound_message", "outbox", "ussd_session", "cluster_alert", "pending_delivery_report"].map {
                    try session.value("SELECT COUNT(*) FROM \($0)").int ?? -1
                }
            }
            #expect(left == [0, 0, 0, 0, 0])
        }
    }

    @Test("a bundle that listed an erased case loses its text too")
    func bundles() async throws {
        try await Self.withDatabase { database in
            let old = try await Self.seed(database, status: .closed, age: 400, closedAge: 380)
            let open = try await Self.seed(database, status: .open, age: 1, reporter: "+84900000806")
            try await database.write { store in
                var carrier = OutboundMessage(channel: "sms", recipient: "+84900000101", body: "2 ca moi: #\(open) ...; #\(old) Lan 14t", purpose: .alert,
                                              reportNumber: open, at: Self.daysAgo(1))
                try store.enqueue(&carrier)
                var member = OutboundMessage(channel: "sms", recipient: "+84900000101", body: "#\(old) Lan", purpose: .alert, reportNumber: old, at: Self.daysAgo(1))
                member.state = .bundled
                member.bundleID = carrier.id
                try store.enqueue(&member)
            }
            _ = try await database.purge(RetentionPolicy(), now: Self.now, dryRun: false)
            #expect(!(try await database.outboundMessages(reportNumber: open).contains { $0.body.contains("#\(old)") }))
        }
    }

    @Test("erase --phone: every case the number reported, its messages and answers, its USSD sessions, and the number as a companion")
    func erasePhone() async throws {
        try await Self.withDatabase { database in
            let mine = try await Self.seed(database, status: .open, age: 1, reporter: "+84912345678")
            let other = try await Self.seed(database, status: .open, age: 1, reporter: "+84900000807") // names +84912345678 as companion
            let dry = try await database.erase(phone: "+84912345678", now: Self.now, dryRun: true)
            #expect(dry.anonymisedReports == 1)
            #expect(try await Self.personal(database, mine).count > 3)
            _ = try await database.erase(phone: "+84912345678", now: Self.now, dryRun: false)
            #expect(try await Self.personal(database, mine) == [])
            let kept = try #require(try await database.report(number: other))
            #expect(kept.parsed.companion.phone == nil && kept.reporter == "+84900000807")
            let index = database.cipher.index("+84912345678")
            let count = try await database.sqlRead { session in
                try session.value("SELECT COUNT(*) FROM inbound_message WHERE sender_index = ?", index).int
            }
            #expect(count == 0)
        }
    }

    @Test("erase --report: one case")
    func eraseReport() async throws {
        try await Self.withDatabase { database in
            let number = try await Self.seed(database, status: .acknowledged, age: 1)
            _ = try await database.erase(report: number, now: Self.now, dryRun: false)
            #expect(try await Self.personal(database, number) == [])
            #expect(try await database.timeline(number: number).last?.detail == "erased on request")
        }
    }
}
