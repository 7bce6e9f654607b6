import CurlHTTP
import Foundation
import Testing
import TiplineProviders
import TiplineServer
import TiplineStore

/// Whole SMS conversations through the real application: reporter and officers, as a deployment would see them.
@Suite("End to end: conversations")
struct ConversationTests {
    let client = CurlClient()

    @Test("reporter and officers: partial tip, BS, NHAN raced by two officers, KT, XONG, reporter told it was handled")
    func reporterAndOfficers() async throws {
        try await withTipline { fake, runtime, port in
            var sid = 0
            func send(_ from: String, _ body: String) async throws {
                sid += 1
                #expect(try await postSMS(client, port: port, sid: "SM-c\(sid)", from: from, body: body).status == 200)
            }
            func lastReply(to phone: String, count: Int) async throws -> String {
                let received = try await fake.waitFor { $0.filter { $0.to == phone }.count >= count }
                return received.filter { $0.to == phone }.dropFirst(count - 1).first?.body ?? "(none)"
            }
            let reporter = "+84900000301"
            try await send(reporter, "TRE Lan xa Meo Vac")
            let partial = try await lastReply(to: reporter, count: 1)
            #expect(partial.contains("1001") && partial.contains("tuoi") && partial.contains("noi den"), "\(partial)")
            #expect(try await lastReply(to: "+84900000103", count: 1).contains("#1001"), "Meo Vac's officer is alerted")
            try await send(reporter, "BS 1001 14 tuoi, di Trung Quoc")
            #expect(try await lastReply(to: reporter, count: 2).contains("Da them thong tin vao bao cao so 1001"))
            // The BS said abroad: the case became urgent and its officer was alerted again (KHAN) before taking it.
            #expect(try await lastReply(to: "+84900000103", count: 2).hasPrefix("KHAN #1001"))

            // Two officers of Mèo Vạc... only one covers it in the sample roster: the supervisor races them.
            try await send("+84900000103", "NHAN 1001")
            try await send("+84900000110", "OK1001")
            #expect(try await lastReply(to: "+84900000103", count: 3).contains("Ban da nhan ca 1001"))
            #expect(try await lastReply(to: "+84900000110", count: 1).contains("da do Giang Seo Phao nhan"))

            try await send(reporter, "KT 1001")
            #expect(try await lastReply(to: reporter, count: 3).contains("can bo dang xu ly"))
            try await send("+84900000999", "KT 1001")
            #expect(try await lastReply(to: "+84900000999", count: 1).contains("Khong tim thay"), "only the reporter may ask")

            try await send("+84900000103", "XONG 1001 da gap gia dinh, em da ve")
            #expect(try await lastReply(to: "+84900000103", count: 4).contains("Da dong ca 1001"))
            #expect(try await lastReply(to: reporter, count: 4).contains("da duoc xu ly"))

            let report = try #require(try await runtime.database.report(number: 1001))
            #expect(report.status == .closed)
            #expect(report.assignedTo == "meovac-social")
            #expect(report.result == "da gap gia dinh, em da ve")
            #expect(report.parsed.child.age == 14 && report.parsed.destination.code == "CN" && report.parsed.missing == [])
            #expect(report.urgent, "abroad: urgent once the destination is known")
            let timeline = try await runtime.database.timeline(number: 1001).map(\.kind)
            #expect(timeline.starts(with: ["received", "parsed", "routed"]))
            #expect(timeline.contains("note") && timeline.contains("acknowledged") && timeline.contains("ack_refused") && timeline.contains("closed"))
            // Nothing sent to a reporter names the child.
            #expect(!fake.received.filter { $0.to == reporter }.contains { $0.body.contains("Lan") })
        }
    }

    @Test("STOP is honoured for everything but its confirmation; START undoes it; officer commands from others get help")
    func optOut() async throws {
        try await withTipline { fake, runtime, port in
            let phone = "+84900000311"
            _ = try await postSMS(client, port: port, sid: "SM-o1", from: phone, body: "STOP")
            _ = try await postSMS(client, port: port, sid: "SM-o2", from: phone, body: "TRE Lan 14t nu xa Lung Cu di HCM")
            // The confirmation and the alert may be sent in one batch, in parallel: wait for both, then for anything more.
            _ = try await fake.waitFor { $0.contains { $0.to == "+84900000101" } && $0.contains { $0.to == phone } }
            try await Task.sleep(for: .milliseconds(300))
            let replies = fake.received.filter { $0.to == phone }
            #expect(replies.count == 1)
            #expect(replies.first?.body.contains("START") == true)
            #expect(try await runtime.database.report(number: 1001) != nil, "the report is still stored and routed")

            _ = try await postSMS(client, port: port, sid: "SM-o3", from: phone, body: "START")
            _ = try await postSMS(client, port: port, sid: "SM-o4", from: phone, body: "NHAN 1001")
            let after = try await fake.waitFor { $0.filter { $0.to == phone }.count >= 3 }.filter { $0.to == phone }
            #expect(after.count == 3)
            // The two replies are sent at once (the dispatcher sends in parallel): either may arrive first.
            #expect(after.dropFirst().contains { $0.body.hasPrefix("Bao tre di lam xa") }, "a non-officer's NHAN gets the reporter's help")
            #expect(after.dropFirst().contains { $0.body.hasPrefix("Ban se nhan lai tin") }, "START is confirmed")
            #expect(try await runtime.database.report(number: 1001)?.assignedTo == nil)
        }
    }

    @Test("a message whose last part never comes is parsed as it is after the configured wait")
    func incompleteParts() async throws {
        let fake = FakeProviders()
        try await runFakeProviders(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort, extra: """
              vonage:
                provider: vonage
                number: "84900000003"
                base_url: http://127.0.0.1:\(providerPort)
                verify_requests: false
            inbound:
              concat_wait_seconds: 3
            """, environment: ["TIPLINE_CHANNEL_VONAGE_API_KEY": "vonage-key", "TIPLINE_CHANNEL_VONAGE_API_SECRET": "vonage-secret"])
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { port in
                let query = FormBody.encode([("msisdn", "84900000321"), ("to", "84900000003"), ("messageId", "0C01"),
                                             ("text", "TRE Hoa 15t nu xa Lung Cu"), ("concat", "true"), ("concat-ref", "9"),
                                             ("concat-total", "3"), ("concat-part", "1")])
                #expect(try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/channels/vonage/sms?\(query)")).status == 200)
                #expect(try await runtime.database.reportCount() == 0)
                let sent = try await fake.waitFor { $0.contains { $0.to == "84900000321" } }
                #expect(sent.contains { $0.to == "84900000321" && $0.text.contains("1001") })
                #expect(try await runtime.database.report(number: 1001)?.parsed.origin.areaCode == "715")
            }
        }
    }
}
