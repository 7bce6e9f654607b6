import CurlHTTP
import Foundation
import Testing
import TiplineCore
import TiplineProviders
import TiplineServer
import TiplineStore

/// Findings of an end-to-end run from outside, each kept fixed.
@Suite("End to end: hardening")
struct HardeningTests {
    let client = CurlClient()

    @Test("a NUL in a message (GSM-7 @ from some gateways) loses nothing: stored and read whole")
    func nulByte() async throws {
        try await withTipline { _, runtime, port in
            let response = try await postSMS(client, port: port, sid: "SM-nul", from: "0900000231", body: "TRE Thu\u{0} 12t nu xa Lung Cu di HCM")
            #expect(response.status == 200)
            let report = try #require(try await runtime.database.report(number: 1001))
            #expect(report.text == "TRE Thu@ 12t nu xa Lung Cu di HCM")
            #expect(report.parsed.child.age == 12 && report.parsed.origin.areaCode == "715" && report.parsed.destination.code != nil)
        }
        #expect(InboundSMS(providerMessageID: "g", from: "+84900000231", to: nil, text: "a\u{0}b\u{7}c\nd").text == "a@b c\nd",
                "every provider's decoder builds an InboundSMS (the generic JSON channel too)")
    }

    @Test("each send's outcome is recorded as it ends, not when the whole claimed batch has ended")
    func recordedAsEachSendEnds() async throws {
        // A send timeout longer than the hold can last (the fake holds for up to 20 s): the held send stays `sending`.
        try await withTipline(sendTimeout: 30) { fake, runtime, port in
            let reporter = "+84900000232"
            fake.hold(reporter)
            defer { fake.release(reporter) }
            #expect(try await postSMS(client, port: port, sid: "SM-slow", from: reporter, body: "TRE Lan 14t nu xa Lung Cu di HCM").status == 200)
            // The officer's alert goes in the same claimed batch as the reporter's held acknowledgement.
            _ = try await fake.waitFor { $0.contains { $0.to == "+84900000101" } }
            let outbox = try await waitForOutbox(runtime.database) { messages in
                messages.contains { $0.recipient == "+84900000101" && $0.state == .sent }
            }
            #expect(outbox.first { $0.recipient == "+84900000101" }?.state == .sent, "recorded while another send of its batch hangs")
            #expect(outbox.first { $0.recipient == reporter }?.state == .sending)
            fake.release(reporter)
            let done = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent } }
            #expect(done.allSatisfy { $0.state == .sent })
        }
    }

    @Test("webhook, API and page errors all answer one JSON shape: {\"error\": \"reason\"}")
    func oneErrorShape() async throws {
        try await withTipline { _, _, port in
            let webhook = try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)/channels/sms/sms",
                                                               headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("x=1".utf8)))
            let unknown = try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)/channels/nope/sms", body: []))
            let api = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/api/v1/reports"))
            for response in [webhook, unknown, api] {
                #expect(response.status >= 400)
                let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any]
                #expect(object?["error"] is String, "\(response.status): \(response.bodyText)")
            }
        }
    }
}
