import Foundation
import HummingbirdTesting
import GRDB
import Logging
import Synchronization
import Testing
import TiplineCore
import TiplineProviders
@testable import TiplineServer
@testable import TiplineStore

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Date>
    init(_ start: String) { now = Mutex(ISO8601DateFormatter().date(from: start)!) }
    func read() -> Date { now.withLock { $0 } }
    func advance(minutes: Double) { now.withLock { $0 = $0.addingTimeInterval(minutes * 60) } }
}

/// The sample deployment on a fresh SQLite file, with a hand-moved clock; nothing is sent (the outbox is inspected).
struct Scenario {
    let clock: ManualClock
    let runtime: TiplineRuntime
    let folder: URL
    var sid = 0

    init(at start: String, folder existing: URL? = nil, clock existingClock: ManualClock? = nil) async throws {
        folder = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("tipline-scenario-\(UUID().uuidString)")
        clock = existingClock ?? ManualClock(start)
        let deployment = try SampleDeployment.load(environment: try await SampleDeployment.databaseEnvironment(folder: folder))
        var logger = Logger(label: "scenario")
        logger.logLevel = .error
        let clock = self.clock
        runtime = try await TiplineRuntime.make(deployment: deployment, logger: logger, clock: { clock.read() })
    }

    mutating func sms(_ from: String, _ text: String) async throws -> Intake.Outcome {
        sid += 1
        return try await runtime.intake.receive(InboundSMS(providerMessageID: "S\(sid)-\(UUID().uuidString)", from: from, to: nil, text: text),
                                                channel: "simulator")
    }

    func alerts(_ report: Int) async throws -> [OutboundMessage] {
        try await runtime.database.outboundMessages(reportNumber: report).filter { $0.purpose == .alert }
    }

    func recipients(_ report: Int) async throws -> [String] {
        try await alerts(report).map(\.recipient)
    }

    func report(_ number: Int) async throws -> Report { try #require(try await runtime.database.report(number: number)) }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// Runs the real application on a loopback port (its clock still the scenario's) for `body`.
    func live(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = try await buildApplication(runtime, port: 0)
        try await app.test(.live) { client in try await body(client) }
    }
}

// Sample roster phones.
let lungCuPolice = "+84900000101"      // always on duty, Lũng Cú + Đồng Văn
let lungCuUnion = "+84900000102"       // Lũng Cú, Mon–Fri 07:30–17:00
let meoVacSocial = "+84900000103"
let tqSupervisor = "+84900000110"
let hotline = "+84900000199"
let hotlineEnglish = "+84900000198"       // the NGO caseworker, alerts in English

@Suite("Duty routing and escalation")
struct EscalationTests {
    @Test("urgent: L0 on duty at once, L1 the next officer after 15 min, L2 the supervisor after 30 more, repeated twice, then call now")
    func urgentEscalationThroughEveryLevel() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00") // a Sunday: the Women's Union officer is off shift
        defer { s.remove() }
        _ = try await s.sms("+84900000401", "KHAN be gai 12t xa Lung Cu dang bi dua sang TQ")
        #expect(try await s.recipients(1001) == [lungCuPolice])
        s.clock.advance(minutes: 14)
        #expect(try await s.runtime.escalation.tick() == 0, "not due yet")
        s.clock.advance(minutes: 1)
        #expect(try await s.runtime.escalation.tick() == 1)
        #expect(try await s.recipients(1001) == [lungCuPolice, lungCuUnion], "L1: the officer not yet alerted, off shift or not")
        s.clock.advance(minutes: 30)
        try await s.runtime.escalation.tick()
        #expect(try await s.recipients(1001).last == tqSupervisor, "L2: the province supervisor")
        // Repeat 1 and 2: L1 (everyone covering the commune) and L2 again.
        for _ in 0..<2 {
            s.clock.advance(minutes: 15)
            try await s.runtime.escalation.tick()
            #expect(Array(try await s.recipients(1001).suffix(2)).sorted() == [lungCuPolice, lungCuUnion])
            s.clock.advance(minutes: 30)
            try await s.runtime.escalation.tick()
            #expect(try await s.recipients(1001).last == tqSupervisor)
        }
        let before = try await s.alerts(1001).count
        s.clock.advance(minutes: 30)
        try await s.runtime.escalation.tick()
        let report = try await s.report(1001)
        #expect(report.callNow)
        #expect(report.nextEscalationAt == nil)
        let callNow = try await s.alerts(1001).dropFirst(before)
        #expect(callNow.count == 2, "both hotline staff")
        #expect(callNow.contains { $0.recipient == hotline && $0.body.hasPrefix("GOI NGAY #1001") })
        #expect(callNow.contains { $0.recipient == hotlineEnglish && $0.body.hasPrefix("CALL NOW #1001") }, "in each officer's language")
        s.clock.advance(minutes: 600)
        #expect(try await s.runtime.escalation.tick() == 0)
        #expect(try await s.alerts(1001).count == before + 2, "nothing after call now")
        let kinds = try await s.runtime.database.timeline(number: 1001).map(\.kind)
        #expect(kinds.filter { $0 == "escalated" }.count == 6)
        #expect(kinds.last == "call_now")
    }

    @Test("two instances on one database run the same due timer at once: it fires once, each officer alerted once")
    func timersFireOnceAcrossInstances() async throws {
        var a = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { a.remove() }
        // A second instance on the same database (PostgreSQL's pass: the same scratch database; SQLite: the same file).
        let b = try await Scenario(at: "2026-11-29T10:00:00+07:00", folder: a.folder, clock: a.clock)
        _ = try await a.sms("+84900000402", "KHAN be gai 12t xa Lung Cu dang bi dua sang TQ")
        #expect(try await b.report(1001).urgent, "the second instance reads what the first wrote: one database")
        a.clock.advance(minutes: 15)
        let (first, second) = (a.runtime.escalation, b.runtime.escalation)
        async let fromA = first.tick()
        async let fromB = second.tick()
        let fired = try await fromA + fromB
        #expect(fired == 1, "one of the two fired it")
        #expect(try await a.recipients(1001) == [lungCuPolice, lungCuUnion], "L1 alerted once")
        let again = try await b.runtime.escalation.tick() + a.runtime.escalation.tick()
        #expect(again == 0, "nothing left due")
        await b.runtime.database.close()
        await a.runtime.database.close()
    }

    @Test("NHAN stops the escalation; no update for 24 h brings a reminder, then the province")
    func acknowledgementAndReminders() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000402", "KHAN be gai 12t xa Lung Cu")
        _ = try await s.sms(lungCuPolice, "NHAN 1001")
        s.clock.advance(minutes: 60)
        #expect(try await s.runtime.escalation.tick() == 0)
        #expect(try await s.recipients(1001) == [lungCuPolice])
        s.clock.advance(minutes: 23 * 60)
        try await s.runtime.escalation.tick()
        let reminder = try #require(try await s.alerts(1001).last)
        #expect(reminder.recipient == lungCuPolice && reminder.body.hasPrefix("Nhac: ca 1001"))
        // An update resets the clock.
        s.clock.advance(minutes: 60)
        _ = try await s.sms(lungCuPolice, "BS 1001 da goi gia dinh")
        s.clock.advance(minutes: 23 * 60 + 30)
        #expect(try await s.runtime.escalation.tick() == 1)
        #expect(try await s.alerts(1001).count == 2, "rescheduled, not escalated: the case was updated")
        s.clock.advance(minutes: 31)
        try await s.runtime.escalation.tick()
        #expect(try await s.alerts(1001).last?.body.hasPrefix("Nhac") == true)
        s.clock.advance(minutes: 24 * 60)
        try await s.runtime.escalation.tick()
        #expect(try await s.recipients(1001).last == tqSupervisor, "no update after the reminder: the province")
        _ = try await s.sms(lungCuPolice, "XONG 1001 em da ve nha")
        s.clock.advance(minutes: 100 * 60)
        #expect(try await s.runtime.escalation.tick() == 0)
    }

    @Test("two officers racing to acknowledge: one takes it, the other is told who has it")
    func racingAcknowledgements() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00") // Monday: both Lũng Cú officers on duty
        defer { s.remove() }
        _ = try await s.sms("+84900000403", "TRE Lan 14t nu xa Lung Cu di HCM")
        #expect(Set(try await s.recipients(1001)) == [lungCuPolice, lungCuUnion])
        let intake = s.runtime.intake
        async let a = intake.receive(InboundSMS(providerMessageID: "race-a", from: lungCuPolice, to: nil, text: "NHAN 1001"), channel: "simulator")
        async let b = intake.receive(InboundSMS(providerMessageID: "race-b", from: lungCuUnion, to: nil, text: "NHAN 1001"), channel: "simulator")
        _ = try await (a, b)
        let report = try await s.report(1001)
        let holder = try #require(report.assignedTo)
        #expect(["lungcu-police", "lungcu-womens-union"].contains(holder))
        let replies = try await s.runtime.database.outboundMessages().filter { $0.purpose == .reply }
        #expect(replies.filter { $0.body.hasPrefix("Ban da nhan ca 1001") }.count == 1)
        #expect(replies.filter { $0.body.contains("da do") }.count == 1)
    }

    @Test("normal tips: no alert or escalation in the quiet hours; urgent ones go at once")
    func quietHours() async throws {
        var s = try await Scenario(at: "2026-11-29T23:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000404", "TRE Lan 14t nu xa Lung Cu di Ha Noi")
        let morning = ISO8601DateFormatter().date(from: "2026-11-30T07:00:00+07:00")!
        let alert = try #require(try await s.alerts(1001).first)
        #expect(alert.nextAttemptAt == morning, "held until 07:00")
        #expect(try await s.report(1001).nextEscalationAt == morning)
        _ = try await s.sms("+84900000405", "KHAN be gai 12t xa Lung Cu")
        #expect(try await s.alerts(1002).first?.nextAttemptAt == s.clock.read())
        #expect(try await s.report(1002).nextEscalationAt == s.clock.read().addingTimeInterval(15 * 60))
    }

    @Test("an alert reported undelivered moves the case to its next level at once")
    func undeliveredAlert() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000406", "KHAN be gai 12t xa Lung Cu")
        let alert = try #require(try await s.alerts(1001).first)
        try await s.runtime.database.sqlWrite { session in
            try session.execute("UPDATE outbox SET state = 'sent', provider_message_id = 'SMx' WHERE id = ?", alert.id)
        }
        try await s.runtime.database.recordDeliveryReport(channel: "simulator", providerMessageID: "SMx", state: .failed, error: "30003", now: s.clock.read())
        #expect(try await s.runtime.escalation.tick() == 1)
        #expect(try await s.recipients(1001) == [lungCuPolice, lungCuUnion])
    }

    @Test("a restart in the middle of an escalation loses no timer and fires none twice")
    func restartMidEscalation() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000407", "KHAN be gai 12t xa Lung Cu")
        s.clock.advance(minutes: 16)
        // The daemon was down when the timer fell due: a new runtime on the same file picks it up, once.
        let restarted = try await Scenario(at: "", folder: s.folder, clock: s.clock)
        #expect(try await restarted.runtime.escalation.tick() == 1)
        #expect(try await restarted.runtime.escalation.tick() == 0)
        #expect(try await s.runtime.escalation.tick() == 0, "the old runtime sees the timer moved too")
        #expect(try await restarted.recipients(1001) == [lungCuPolice, lungCuUnion])
    }

    @Test("an ambiguous commune whose candidates share a province goes to that province's supervisors; one with none to hotline")
    func ambiguousCommune() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000417", "TRE Mai 14t nu xa Vinh Quang di HCM")
        #expect(try await s.report(1001).parsed.origin.candidates == ["1021", "2350"])
        #expect(try await s.recipients(1001) == [tqSupervisor], "both candidates are in Tuyên Quang")
        #expect(try await s.report(1001).provinceCode == "8")
        _ = try await s.sms("+84900000418", "TRE Mai 14t nu xa Khong Ai Biet di HCM")
        #expect(Set(try await s.recipients(1002)) == [hotline, hotlineEnglish])
    }

    @Test("CHUYEN passes the case to the next level now")
    func passOn() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000408", "KHAN be gai 12t xa Lung Cu")
        _ = try await s.sms(lungCuPolice, "NHAN 1001")
        _ = try await s.sms(lungCuPolice, "CHUYEN 1001 can cong an huyen")
        #expect(try await s.report(1001).status == .open)
        #expect(try await s.runtime.escalation.tick() == 1)
        #expect(try await s.recipients(1001) == [lungCuPolice, lungCuUnion])
    }

    @Test("same child, one case: a second tip about her, from someone else, is kept beside the case and not alerted again")
    func sameChildMerge() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000409", "TRE Lan 14t nu xa Lung Cu di HCM")
        let outcome = try await s.sms("+84900000410", "TRE lan 15 tuoi nu xa Lũng Cú di Ha Noi")
        #expect(outcome == .stored(report: 1002), "a number of their own, which reveals nothing about case 1001")
        #expect(try await s.report(1002).status == .partial, "kept for staff, linked to the case")
        #expect(try await s.alerts(1001).count == 1)
        #expect(try await s.alerts(1002).isEmpty, "not alerted again")
        let reply = try #require(try await s.runtime.database.outboundMessages().last)
        #expect(reply.recipient == "+84900000410" && reply.body.contains("1002") && !reply.body.contains("1001"))
        #expect(try await s.runtime.database.timeline(number: 1001).contains { $0.kind == "same_child" && $0.detail?.contains("1002") == true })
        _ = try await s.sms("+84900000411", "TRE Lan 11t nu xa Lung Cu di HCM")
        #expect(try await s.runtime.database.reportCount() == 3, "a different age is a different child")
        #expect(try await s.report(1003).status == .open)
    }

    @Test("cluster: two tips from one commune to one destination within 7 days, or naming one companion, warn the province and hotline once")
    func clusters() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000412", "TRE Lan 14t nu xa Meo Vac di Bac Ninh")
        s.clock.advance(minutes: 3 * 24 * 60)
        _ = try await s.sms("+84900000413", "TRE Mai 13t nu xa Meo Vac di Bac Ninh")
        let warning = try await s.alerts(1002).filter { $0.body.hasPrefix("CANH BAO nhom") }
        #expect(Set(warning.map(\.recipient)) == [tqSupervisor, hotline])
        #expect(warning.first?.body.contains("#1001 #1002") == true)
        _ = try await s.sms("+84900000414", "TRE Pao 15t trai xa Meo Vac di Bac Ninh")
        #expect(try await s.alerts(1003).filter { $0.body.hasPrefix("CANH BAO") }.isEmpty, "one warning a week per group")

        _ = try await s.sms("+84900000415", "TRE Hoa 14t nu xa Lung Cu di HCM voi chu Tuan 0912345678")
        _ = try await s.sms("+84900000416", "TRE Vy 15t nu phuong Thuan An di Da Nang 0912.345.678")
        let companion = try await s.alerts(1005).filter { $0.body.contains("+84912345678") && $0.body.hasPrefix("CANH BAO") }
        #expect(companion.count >= 2)
    }
}
