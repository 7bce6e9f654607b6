import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TiplineCore
import TiplineProviders
@testable import TiplineServer
@testable import TiplineStore

/// The one case workflow, whoever acts: SMS, USSD, the API, the web pages and the timers.
@Suite("Case workflow")
struct CaseWorkflowTests {
    static let reporter = "+84900000601"

    // MARK: - One action, three doors

    /// What an action leaves behind, with what differs by door (the acting officer's own SMS confirmation) left out.
    struct Outcome: Equatable, CustomStringConvertible {
        var status: Report.Status
        var assignedTo: String?
        var callNow: Bool
        var timerSet: Bool
        /// The case's outcome code, once closed with one.
        var code: String?
        var result: String?
        var timeline: [String]
        var outbox: [String]
        var description: String {
            "\(status) \(assignedTo ?? "-") callNow=\(callNow) timer=\(timerSet) code=\(code ?? "-") result=\(result ?? "-")\n  \(timeline)\n  \(outbox)"
        }
    }

    static func outcome(_ s: Scenario, _ number: Int) async throws -> Outcome {
        let report = try await s.report(number)
        let timeline = try await s.runtime.database.timeline(number: number).map { "\($0.kind) \($0.actor ?? "-") \($0.detail ?? "-")" }
        let outbox = try await s.runtime.database.outboundMessages().filter { $0.recipient != lungCuPolice || $0.purpose == .alert }
            .map { "\($0.purpose.rawValue) \($0.recipient) \($0.channel) \($0.reportNumber.map(String.init) ?? "-") \($0.body)" }
        return Outcome(status: report.status, assignedTo: report.assignedTo, callNow: report.callNow, timerSet: report.nextEscalationAt != nil,
                       code: report.outcome?.rawValue, result: report.result, timeline: timeline, outbox: outbox)
    }

    enum Door: String, CaseIterable { case sms, api, web }

    struct Action: Sendable {
        var name: String
        var sms: String
        var api: (path: String, json: String)
        var web: (path: String, form: String)
    }

    static let actions: [Action] = [
        Action(name: "acknowledge", sms: "NHAN 1001", api: ("acknowledge", ""), web: ("acknowledge", "")),
        Action(name: "note", sms: "BS 1001 da goi gia dinh", api: ("notes", #"{"text":"da goi gia dinh"}"#), web: ("notes", "text=da+goi+gia+dinh")),
        Action(name: "close", sms: "XONG 1001 tre da ve nha", api: ("close", #"{"result":"tre da ve nha"}"#), web: ("close", "result=tre+da+ve+nha")),
        Action(name: "close with an outcome", sms: "XONG 1001 VE tre da ve nha", api: ("close", #"{"result":"tre da ve nha","outcome":"returned"}"#),
               web: ("close", "outcome=returned&result=tre+da+ve+nha")),
        Action(name: "close with an outcome only", sms: "XONG 1001 khong thay", api: ("close", #"{"outcome":"not_found"}"#),
               web: ("close", "outcome=not_found&result=")),
    ]

    /// Runs a sequence of actions on a fresh case through one door and returns what it left.
    static func run(_ door: Door, _ sequence: [Action]) async throws -> Outcome {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        // The same person at each door: the Lũng Cú police officer (a roster officer, an officer token, an officer account).
        let token = "tl_workflow_test_token"
        _ = try await s.runtime.database.insertToken(name: "lungcu-police", role: .officer, officerID: "lungcu-police",
                                                     hash: StaffAuth.hash(token: token), now: Date())
        try await s.addUser("lungcu-police", role: .officer, officer: "lungcu-police", password: "officer password 1")
        switch door {
        case .sms:
            for action in sequence { _ = try await s.sms(lungCuPolice, action.sms) }
        case .api:
            try await s.live { client in
                for action in sequence {
                    let response = try await client.execute(uri: "/api/v1/reports/1001/\(action.api.path)", method: .post,
                                                            headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                                            body: ByteBuffer(string: action.api.json))
                    #expect(response.status == .ok, "\(action.name): \(String(buffer: response.body))")
                }
            }
        case .web:
            try await s.live { client in
                let cookie = try #require(try await WebAccessTests.signIn(client, "lungcu-police", "officer password 1").cookie)
                for action in sequence {
                    let page = try await client.execute(uri: "/reports/1001", method: .get, headers: [.cookie: cookie])
                    let csrf = try #require(WebAccessTests.csrf(in: String(buffer: page.body)))
                    let response = try await client.execute(uri: "/reports/1001/\(action.web.path)", method: .post,
                                                            headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                                            body: ByteBuffer(string: "csrf=\(csrf)&\(action.web.form)"))
                    #expect(response.status == .seeOther, "\(action.name): \(String(buffer: response.body))")
                }
            }
        }
        return try await outcome(s, 1001)
    }

    @Test("each case action through SMS, the API and the web form leaves the same timeline, status and outbox",
          arguments: [["acknowledge"], ["note"], ["close"], ["acknowledge", "note", "close"], ["close with an outcome"],
                      ["acknowledge", "close with an outcome only"]])
    func sameActionEveryDoor(_ names: [String]) async throws {
        let sequence = names.map { name in Self.actions.first { $0.name == name }! }
        let sms = try await Self.run(.sms, sequence)
        for door in [Door.api, .web] {
            let other = try await Self.run(door, sequence)
            #expect(other == sms, "\(door.rawValue) differs from SMS:\n\(other)\nvs\n\(sms)")
        }
        if names.last?.hasPrefix("close") == true {
            #expect(sms.status == .closed)
            #expect(sms.outbox.contains { $0.hasPrefix("reply \(Self.reporter) simulator 1001") }, "the reporter is told, by SMS")
        }
        if names.last == "close with an outcome" {
            #expect(sms.code == "returned" && sms.result == "tre da ve nha", "the code, and the words after it as the result")
            #expect(sms.timeline.contains { $0.hasPrefix("closed lungcu-police returned: tre da ve nha") })
        }
        if names.last == "close with an outcome only" {
            #expect(sms.code == "not_found" && sms.result == nil)
        }
    }

    // MARK: - Urgency only goes up

    @Test("a message with no keyword that names a commune and a child is a report its commune's officers are asked to read")
    func unreadableButPlaced() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        let outcome = try await s.sms(Self.reporter, "con toi 14 tuoi o xa Lung Cu bi dua di Trung Quoc roi")
        #expect(outcome == .stored(report: 1001))
        let report = try await s.report(1001)
        #expect(report.kind == .unknown && report.parsed.flags.contains("no_keyword") && report.areaCode == "715")
        let alerts = try await s.alerts(1001)
        #expect(alerts.contains { $0.recipient == lungCuPolice && $0.body.hasPrefix("CHUA RO #1001") }, "\(alerts.map(\.body))")
        let replies = try await s.runtime.database.outboundMessages().filter { $0.recipient == Self.reporter }
        #expect(replies.count == 1 && replies[0].body.contains("1001") && !replies[0].body.contains("Trung Quoc"), "no child detail echoed")
        // Chatter naming no commune is stored for staff and alerts nobody.
        _ = try await s.sms("+84900000603", "con toi di lam xa 3 thang chua ve")
        #expect(try await s.alerts(1002).isEmpty)
    }

    @Test("an urgent alert about a child with an open case makes the case urgent and alerts its officers in the same transaction")
    func urgentOnKnownChild() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        _ = try await s.sms(lungCuPolice, "NHAN 1001")
        let before = try await s.alerts(1001).count
        let outcome = try await s.sms("+84900000602", "KHAN Lan 14t nu xa Lung Cu dang bi dua sang TQ")
        #expect(outcome == .stored(report: 1002), "the sender's own report, kept beside the case")
        let report = try await s.report(1001)
        #expect(report.urgent && report.parsed.urgent)
        let alerts = try await s.alerts(1001)
        #expect(alerts.count > before, "officers alerted now")
        #expect(alerts.dropFirst(before).contains { $0.recipient == lungCuPolice }, "the officer who took the case included")
        #expect(alerts.dropFirst(before).allSatisfy { $0.body.hasPrefix("KHAN") || $0.state == .bundled })
        let replies = try await s.runtime.database.outboundMessages().filter { $0.recipient == "+84900000602" }
        #expect(replies.count == 1 && replies[0].body.contains("113") && replies[0].body.contains("1002"),
                "the alert reply (call 111/113) with the sender's own number: \(replies.map(\.body))")
        #expect(!replies[0].body.contains("1001"), "nothing hints that a case existed")
        let timeline = try await s.runtime.database.timeline(number: 1001).map(\.kind)
        #expect(timeline.contains("same_child") && timeline.contains("urgent"))
        // The urgent policy's reminder now, not the tip's.
        let policy = s.runtime.deployment.current.escalation.policy(province: report.provinceCode)
        #expect(report.nextEscalationAt == s.clock.read().addingTimeInterval(policy.track(urgent: true).reminderAfter))
    }

    @Test("a tip about a known child from another sender gets the ordinary acknowledgement; its own reporter is told it was added")
    func sameChildRevealsNothing() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        let first = try await s.runtime.database.outboundMessages().first { $0.recipient == Self.reporter }!.body
        _ = try await s.sms("+84900000603", "TRE Lan 14t nu xa Lung Cu di HCM")
        let stranger = try await s.runtime.database.outboundMessages().filter { $0.recipient == "+84900000603" }
        #expect(stranger.map(\.body) == [first.replacingOccurrences(of: "1001", with: "1002")],
                "the same words as a new report's acknowledgement, with a number of their own")
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        let again = try await s.runtime.database.outboundMessages().filter { $0.recipient == Self.reporter }
        #expect(again.last?.body.hasPrefix("Da nhan them tin") == true)
        // The second sender follows up their own report, and learns nothing of the case.
        _ = try await s.sms("+84900000603", "KT 1002")
        let own = try await s.runtime.database.outboundMessages().filter { $0.recipient == "+84900000603" }.last?.body ?? ""
        #expect(own.contains("1002") && !own.contains("Khong tim thay"), "\(own)")
        _ = try await s.sms("+84900000603", "KT 1001")
        let other = try await s.runtime.database.outboundMessages().filter { $0.recipient == "+84900000603" }.last?.body ?? ""
        #expect(other.contains("Khong tim thay"), "\(other)")
    }

    @Test("a follow-up BS that says the child is held makes the case urgent")
    func followUpRaisesUrgency() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        #expect(try await s.report(1001).urgent == false)
        _ = try await s.sms(Self.reporter, "BS 1001 di Trung Quoc roi")
        #expect(try await s.report(1001).urgent)
        #expect(try await s.runtime.database.timeline(number: 1001).contains { $0.kind == "urgent" })
    }

    // MARK: - Channels

    @Test("an officer closing a USSD report by SMS: the reporter's text leaves through the SMS channel")
    func ussdCloseGoesBySMS() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        let current = s.runtime.deployment.current
        let channel = try #require(current.settings.ussdChannels.values.first)
        let parsed = current.parser.parse("TRE Lan 14t nu xa Lung Cu di HCM", receivedAt: s.clock.read())
        let ussd = s.runtime.ussd
        let number = try await s.runtime.database.write { [now = s.clock.read()] store in
            try ussd.submit(store, parsed: parsed, phone: "+84900000604", channel: channel, inputs: "1*Lan*14", status: .open,
                                      deployment: current, now: now)
        }
        #expect(try await s.report(number).channel == channel.name)
        _ = try await s.sms(lungCuPolice, "XONG \(number) tre da ve")
        let handled = try #require(try await s.runtime.database.outboundMessages().last { $0.recipient == "+84900000604" })
        #expect(handled.channel == channel.smsChannel && current.settings.channels[handled.channel] != nil)
        #expect(handled.body.contains("da duoc xu ly"))
    }

    @Test("staff closing a closed case, by SMS too, is refused; acknowledging clears call-now by SMS as on the web")
    func closedAndCallNow() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        _ = try await s.runtime.database.write { store in
            var report = try #require(try store.report(1001))
            report.callNow = true
            try store.update(report)
        }
        _ = try await s.sms(lungCuPolice, "NHAN 1001")
        #expect(try await s.report(1001).callNow == false)
        _ = try await s.sms(lungCuPolice, "XONG 1001 VE em da ve nha")
        _ = try await s.sms(lungCuPolice, "XONG 1001 ve nha lan hai")
        let last = try await s.runtime.database.outboundMessages().last { $0.recipient == lungCuPolice }
        #expect(last?.body == "Ca 1001 da dong.")
        let closed = try await s.report(1001)
        #expect(closed.result == "em da ve nha" && closed.outcome == .returned, "the first result and outcome stand")
    }

    // MARK: - Officers' SMS as on-call systems do it

    @Test("a bare NHAN or OK takes the latest alert sent to that officer")
    func bareAcknowledgement() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        s.clock.advance(minutes: 5)
        _ = try await s.sms("+84900000605", "TRE Mai 13t nu xa Lung Cu di Ha Noi")
        // Only alerts that left count (the scenario sends nothing by itself).
        try await s.runtime.database.sqlWrite { session in try session.execute("UPDATE outbox SET state = 'sent' WHERE purpose = 'alert'") }
        _ = try await s.sms(lungCuPolice, "NHAN")
        #expect(try await s.report(1002).assignedTo == "lungcu-police", "the latest alert")
        #expect(try await s.report(1001).assignedTo == nil)
        _ = try await s.sms(lungCuPolice, "OK")
        #expect(try await s.report(1001).assignedTo == "lungcu-police", "then the one before it, still waiting")
    }

    @Test("alerts to one officer within the bundle window leave as one SMS listing them; an urgent one leaves at once, carrying them")
    func bundling() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000611", "TRE Lan 14t nu xa Lung Cu di HCM")
        _ = try await s.sms("+84900000612", "TRE Mai 13t nu xa Lung Cu di Ha Noi")
        _ = try await s.sms("+84900000613", "TRE Hoa 15t nu xa Lung Cu di Bac Ninh")
        let toOfficer = try await s.runtime.database.outboundMessages().filter { $0.recipient == lungCuPolice && $0.purpose == .alert }
        #expect(toOfficer.count == 3, "every case keeps its alert row")
        let leaving = toOfficer.filter { $0.state == .queued }
        #expect(leaving.count == 2, "the first at once, the others in one bundle")
        #expect(leaving[0].nextAttemptAt == s.clock.read())
        let bundle = leaving[1]
        #expect(bundle.nextAttemptAt == s.clock.read().addingTimeInterval(60), "one SMS per window")
        #expect(bundle.body.hasPrefix("2 ca moi") && bundle.body.contains("#1002") && bundle.body.contains("#1003"), "\(bundle.body)")
        #expect(toOfficer.filter { $0.state == .bundled }.allSatisfy { $0.bundleID == bundle.id })
        // An urgent alert does not wait: the waiting bundle leaves with it, now.
        _ = try await s.sms("+84900000614", "KHAN Thu 12t nu xa Lung Cu bi ban sang TQ")
        let now = try await s.runtime.database.outboundMessages().filter { $0.recipient == lungCuPolice && $0.state == .queued }
        #expect(now.count == 2)
        #expect(now[1].nextAttemptAt == s.clock.read() && now[1].body.hasPrefix("3 ca moi: KHAN #1004"), "\(now[1].body)")
        // A bundle reported undelivered moves every case in it to its next level at once.
        var sent = now[1]
        sent.state = .sent
        sent.providerMessageID = "SMbundle"
        try await s.runtime.database.write { [sent] store in try store.update(sent) }
        s.clock.advance(minutes: 1)
        _ = try await s.runtime.database.recordDeliveryReport(channel: "simulator", providerMessageID: "SMbundle", state: .failed, error: "30003",
                                                              now: s.clock.read())
        #expect(try await s.report(1003).nextEscalationAt == s.clock.read())
    }

    @Test("an officer's command on a case outside their communes, never sent to them, gets the unknown-number answer and is audited")
    func officerScope() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms(Self.reporter, "TRE Lan 14t nu xa Lung Cu di HCM")
        for command in ["NHAN 1001", "XEM 1001", "XONG 1001 xong", "CHUYEN 1001", "BS 1001 ghi chu"] {
            _ = try await s.sms(meoVacSocial, command)
            let answer = try await s.runtime.database.outboundMessages().last { $0.recipient == meoVacSocial }
            #expect(answer?.body.contains("1001") == true && answer?.body.contains("Khong") == true, "\(command): \(answer?.body ?? "-")")
        }
        let report = try await s.report(1001)
        #expect(report.assignedTo == nil && report.status == .open)
        let audit = try await s.runtime.database.auditLog(limit: 20)
        #expect(audit.filter { $0.actor == "meovac-social" && $0.action.hasPrefix("refused_") }.count == 5)
        // XEM by an officer in scope is in the timeline and the audit log.
        _ = try await s.sms(lungCuPolice, "XEM 1001")
        #expect(try await s.runtime.database.timeline(number: 1001).contains { $0.kind == "viewed" && $0.actor == "lungcu-police" })
        #expect(try await s.runtime.database.auditLog(limit: 20).contains { $0.actor == "lungcu-police" && $0.action == "show" })
    }

    // MARK: - The store owns the SQL

    @Test("TiplineServer has no SQL of its own: no file imports GRDB")
    func serverHasNoGRDB() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/TiplineServer").standardized
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!.compactMap { $0 as? URL }
            .filter { $0.pathExtension == "swift" }
        #expect(files.count > 20)
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            #expect(!text.contains("import GRDB"), "\(file.lastPathComponent) imports GRDB")
        }
    }
}
