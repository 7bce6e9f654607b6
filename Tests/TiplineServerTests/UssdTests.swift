import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import TiplineProviders
import Testing
import TiplineCore
@testable import TiplineServer
@testable import TiplineStore

/// Whole USSD sessions against the real application's session store, with a hand-moved clock.
@Suite("USSD")
struct UssdTests {
    let phone = "+84900000501"

    /// Plays one session over HTTP against the running application, as the aggregator would.
    func session(_ client: any TestClientProtocol, id: String = "S1", phone: String? = nil) -> (String) async throws -> String {
        let phone = phone ?? self.phone
        return { text in
            let form = FormBody.encode([("sessionId", id), ("serviceCode", "*123#"), ("phoneNumber", phone), ("networkCode", "45204"), ("text", text)])
            let response = try await client.execute(uri: "/channels/ussd/ussd", method: .post,
                                                    headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: form))
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            return String(buffer: response.body)
        }
    }

    @Test("report a child: every step, then the same report as the SMS path, routed, confirmed by SMS")
    func tipPath() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.live { client in
            let send = session(client)
            #expect(try await send("").hasPrefix("CON Bao ve tre em\n1. Bao tre di lam xa"))
            #expect(try await send("1").hasPrefix("CON Ten cua tre?"))
            #expect(try await send("1*Lan").hasPrefix("CON Tre bao nhieu tuoi?"))
            #expect(try await send("1*Lan*14").hasPrefix("CON Tre la:"))
            #expect(try await send("1*Lan*14*2").hasPrefix("CON Tre o xa nao?"))
            let pick = try await send("1*Lan*14*2*lung c")
            #expect(pick.hasPrefix("CON Chon xa:\n1. Lung Cu"), "\(pick)")
            #expect(try await send("1*Lan*14*2*lung c*1").hasPrefix("CON Tre di dau?\n1. Ho Chi Minh"))
            #expect(try await send("1*Lan*14*2*lung c*1*5").hasPrefix("CON Tre di khi nao?"))
            let confirm = try await send("1*Lan*14*2*lung c*1*5*2")
            #expect(confirm.contains("gai 14 tuoi, Lung Cu, di Trung Quoc"), "\(confirm)")
            let done = try await send("1*Lan*14*2*lung c*1*5*2*1")
            #expect(done.hasPrefix("END Da nhan bao cao so 1001"), "\(done)")
            let report = try await s.report(1001)
            #expect(report.via == "ussd" && report.channel == "ussd" && report.reporter == phone)
            #expect(report.parsed.child == .init(name: "Lan", age: 14, sex: .female))
            #expect(report.parsed.origin.areaCode == "715" && report.parsed.destination.code == "CN" && report.urgent)
            #expect(report.parsed.leftOn == "2026-11-28")
            #expect(try await s.recipients(1001) == [lungCuPolice], "the same routing as an SMS report")
            let confirmation = try await s.runtime.database.outboundMessages().first { $0.recipient == phone }
            #expect(confirmation?.channel == "simulator" && confirmation?.body.contains("1001") == true)
            #expect(confirmation?.body.contains("Lan") == false)
        }
    }

    @Test("0 goes back; invalid input repeats the screen with a hint; English from the first menu")
    func backAndInvalid() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.live { client in
            let send = session(client)
            _ = try await send("")
            #expect(try await send("4").hasPrefix("CON Child protection"))
            #expect(try await send("4*9").hasPrefix("CON Please choose a number from the list. Child protection"))
            #expect(try await send("4*9*1").hasPrefix("CON Child's name?"))
            #expect(try await send("4*9*1*1").hasPrefix("CON How old"), "1 skips the name")
            #expect(try await send("4*9*1*1*abc").hasPrefix("CON Please type a number. How old"))
            #expect(try await send("4*9*1*1*abc*0").hasPrefix("CON Child's name?"), "back one step")
            #expect(try await send("4*9*1*1*abc*0*0").hasPrefix("CON Child protection"), "back to the menu")
        }
    }

    @Test("a * typed inside a free-text answer does not break the flow")
    func starInFreeText() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.live { client in
            let send = session(client)
            for text in ["", "2", "2*meo", "2*meo*1"] { _ = try await send(text) }
            let done = try await send("2*meo*1*nguoi la dua 2 be * len xe")
            #expect(done.hasPrefix("END Da nhan tin KHAN so 1001"))
            let report = try await s.report(1001)
            #expect(report.kind == .alert && report.parsed.note == "nguoi la dua 2 be * len xe" && report.parsed.origin.areaCode == "769")
        }
    }

    @Test("duplicated and out-of-order requests get the same answer; a session never seen replays its answers")
    func duplicates() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.live { client in
            let send = session(client)
            let first = try await send("")
            #expect(try await send("") == first, "the aggregator started the session twice")
            let age = try await send("1*Lan")
            _ = try await send("1*Lan*14")
            #expect(try await send("1*Lan") == age, "an old request repeated")
            // Submitting twice creates one report.
            for text in ["1*Lan*14*2", "1*Lan*14*2*lung c", "1*Lan*14*2*lung c*1", "1*Lan*14*2*lung c*1*1", "1*Lan*14*2*lung c*1*1*1"] { _ = try await send(text) }
            let done = try await send("1*Lan*14*2*lung c*1*1*1*1")
            #expect(try await send("1*Lan*14*2*lung c*1*1*1*1") == done)
            #expect(try await s.runtime.database.reportCount() == 1)
            let late = session(client, id: "S2", phone: "+84900000502")
            #expect(try await late("3*1001").hasPrefix("END Khong tim thay bao cao so 1001"), "only the reporter's own reports")
            let own = session(client, id: "S3")
            #expect(try await own("3*1001").hasPrefix("END Bao cao so 1001: dang chuyen cho can bo."))
        }
    }

    @Test("a timed-out session ends; an abandoned one with a commune and an age is kept as a partial report, not alerted")
    func timeoutAndAbandoned() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.live { client in
            let send = session(client)
            for text in ["", "1", "1*1", "1*1*13", "1*1*13*1", "1*1*13*1*meo", "1*1*13*1*meo*1"] { _ = try await send(text) }
            s.clock.advance(minutes: 4)
            #expect(try await send("1*1*13*1*meo*1*1").hasPrefix("END Phien da het han"))
            // The running app's maintenance service may keep it first: either way, exactly one partial report.
            _ = try await s.runtime.ussd.keepAbandoned(channels: s.runtime.deployment.current.settings.ussdChannels)
            #expect(try await s.runtime.database.reportCount() == 1)
            let report = try await s.report(1001)
            #expect(report.status == .partial && report.parsed.origin.areaCode == "769" && report.parsed.child.age == 13)
            #expect(try await s.runtime.database.outboundMessages().isEmpty, "not alerted, not answered")
            let other = session(client, id: "S9")
            _ = try await other("")
            s.clock.advance(minutes: 4)
            #expect(try await s.runtime.ussd.keepAbandoned(channels: s.runtime.deployment.current.settings.ussdChannels) == 0, "nothing worth keeping")
        }
    }

    @Test("with a webhook token set, a callback without it or with a wrong one is refused with 403 and the reason")
    func tokenChecked() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-ussd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let deployment = try SampleDeployment.load(environment: try await SampleDeployment.databaseEnvironment(folder: folder)
            .merging(["TIPLINE_CHANNEL_USSD_WEBHOOK_TOKEN": "ussd-hook"]) { $1 })
        #expect(deployment.settings.ussdChannels["ussd"]?.verifyRequests == true, "on by default")
        var logger = Logger(label: "ussd-token")
        logger.logLevel = .error
        let app = try await buildApplication(await TiplineRuntime.make(deployment: deployment, logger: logger), port: 0)
        try await app.test(.live) { client in
            let form = FormBody.encode([("sessionId", "T1"), ("serviceCode", "*123#"), ("phoneNumber", "+84900000501"), ("text", "")])
            func post(_ uri: String) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(uri: uri, method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                        body: ByteBuffer(string: form))
                return (response.status, String(buffer: response.body))
            }
            let missing = try await post("/channels/ussd/ussd")
            #expect(missing.0 == .forbidden && missing.1.contains("missing webhook token"), "\(missing)")
            let wrong = try await post("/channels/ussd/ussd?token=ussd-hooK")
            #expect(wrong.0 == .forbidden && wrong.1.contains("wrong webhook token"), "\(wrong)")
            let right = try await post("/channels/ussd/ussd?token=ussd-hook")
            #expect(right.0 == .ok && right.1.hasPrefix("CON "), "\(right)")
            let simulated = try await client.execute(uri: "/simulator/ussd", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                                     body: ByteBuffer(string: "From=0900000201&Session=demo&Text="))
            #expect(simulated.status == .unauthorized, "the simulator is a training tool for signed-in staff, no way around the token")
        }
    }

    @Test("every screen of every path is GSM-7 and at most 182 characters, in both languages")
    func everyScreenFits() throws {
        let deployment = try SampleDeployment.load()
        let menu = deployment.ussd
        let longest = deployment.gazetteer.areas.sorted { $0.shortName.count > $1.shortName.count }.prefix(5).map(\.code)
        for language in ParsedMessage.Language.allCases {
            for step in UssdState.Step.allCases {
                var state = UssdState()
                state.language = language
                state.step = step
                state.candidates = longest
                state.name = "Giang Thi Thanh Huong Mai"
                state.age = 17
                state.sex = .female
                state.areaCode = longest.first
                state.destinationText = String(repeating: "x", count: 60)
                for hint in ["", menu.catalogue.text("hint_choice", language), menu.catalogue.text("hint_not_found", language)] {
                    let screen = menu.screen(state, hint: hint)
                    #expect(screen.count <= 182 && SMSText.gsm7Septets(screen) != nil, "\(language) \(step): \(screen.count) \(screen)")
                    #expect(!screen.hasSuffix(".."), "\(language) \(step) is cut: \(screen)")
                }
            }
            for key in ["tip_done", "alert_done", "status_result", "status_not_found", "expired"] {
                let text = menu.catalogue.text(key, language, ["number": "99999", "status": "can bo dang xu ly, cho ket qua"])
                #expect(text.count <= 182 && SMSText.gsm7Septets(text) != nil, "\(key): \(text)")
            }
        }
    }
}
