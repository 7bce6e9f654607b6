import CurlHTTP
import Foundation
import GRDB
import Testing
import TiplineProviders
import TiplineServer
import TiplineStore

@Suite("End to end: webhook to acknowledgement")
struct WebhookToAcknowledgementTests {
    let client = CurlClient()

    @Test("a tip is stored, numbered, routed; the reporter's acknowledgement and the officer's alert reach the provider")
    func tipToAcknowledgementAndAlert() async throws {
        try await withTipline { fake, runtime, port in
            let response = try await postSMS(client, port: port, sid: "SM-e2e-1", from: "0900000201",
                                             body: "TRE Lan 14t nu xa Lung Cu di HCM")
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/xml") == true)
            #expect(response.bodyText.contains("<Response/>"))

            // Lũng Cú's Women's Union officer is on shift on weekdays by day: two or three messages, by the clock.
            let outbox = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent } }
            let received = try await fake.waitFor { $0.count >= outbox.count }
            let ack = try #require(received.first { $0.to == "+84900000201" })
            #expect(ack.body.contains("1001"))
            #expect(!ack.body.contains("Lan"), "a reply to a reporter never repeats the child's details")
            #expect(ack.from == "+84900000002")
            #expect(ack.authorization?.hasPrefix("Basic ") == true)
            #expect(ack.statusCallback == "https://tipline.example.org/channels/sms/status")
            let alert = try #require(received.first { $0.to == "+84900000101" }, "Lung Cu's police officer is alerted")
            #expect(alert.body.contains("#1001"))
            #expect(alert.body.contains("NHAN 1001"))
            #expect(SMSTextCheck.isSingleGSM7(alert.body))

            let report = try #require(try await runtime.database.report(number: 1001))
            #expect(report.parsed.origin.areaCode == "715")
            #expect(report.reporter == "+84900000201")
            #expect(outbox.count == received.count)
            #expect(outbox.allSatisfy { $0.providerMessageID?.hasPrefix("SM") == true })
        }
    }

    @Test("a provider retry of the same MessageSid is answered 200 and not stored or routed again")
    func duplicateMessageSid() async throws {
        try await withTipline { fake, runtime, port in
            // Ten concurrent deliveries of one message, as a provider retrying a slow webhook would.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        try await postSMS(client, port: port, sid: "SM-dup", from: "+84900000202", body: "TRE Mai 15t nu xa Meo Vac di HCM").status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await runtime.database.reportCount() == 1)
            #expect(try await runtime.database.inboundCount() == 1)
            let received = try await fake.waitFor { $0.count >= 2 }
            try await Task.sleep(for: .milliseconds(300))
            #expect(fake.received.count == received.count)
            #expect(fake.received.filter { $0.to == "+84900000202" }.count == 1)
        }
    }

    @Test("bad input: unknown channel 404, not the provider's format 400, too large 413 — nothing stored")
    func badInput() async throws {
        try await withTipline { fake, runtime, port in
            let unknown = try await postSMS(client, port: port, channel: "nope", sid: "SM1", from: "+84900000203", body: "TRE")
            #expect(unknown.status == 404)
            #expect(unknown.bodyText.contains("no channel named 'nope'"))

            let json = try await client.execute(CurlRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/channels/sms/sms",
                headers: [("Content-Type", "application/json")], body: Array("{\"text\": \"TRE\"}".utf8)))
            #expect(json.status == 400)
            #expect(json.bodyText.contains("form body"))

            let noSid = try await client.execute(CurlRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/channels/sms/sms",
                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array("From=%2B84900000203&Body=TRE".utf8)))
            #expect(noSid.status == 400)
            #expect(noSid.bodyText.contains("MessageSid"))

            let big = String(repeating: "a", count: 70_000)
            let tooLarge = try await postSMS(client, port: port, sid: "SM2", from: "+84900000203", body: big)
            #expect(tooLarge.status == 413)

            #expect(try await runtime.database.inboundCount() == 0)
            #expect(try await runtime.database.reportCount() == 0)
        }
    }

    @Test("a database that cannot be written answers 503 so the provider retries; nothing is acknowledged")
    func unwritableDatabase() async throws {
        try await withTipline { fake, runtime, port in
            // Make every write fail, as a full or read-only disk would.
            try await runtime.database.sqlWrite { session in
                switch session.dialect {
                case .sqlite:
                    try session.execute("""
                        CREATE TRIGGER refuse BEFORE INSERT ON inbound_message
                        BEGIN SELECT RAISE(ABORT, 'disk full (simulated)'); END
                        """)
                case .postgresql:
                    try session.execute("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$")
                    try session.execute("CREATE TRIGGER refuse BEFORE INSERT ON inbound_message FOR EACH ROW EXECUTE FUNCTION refuse()")
                }
            }
            let response = try await postSMS(client, port: port, sid: "SM-503", from: "+84900000204", body: "TRE Lan 14t nu xa Lung Cu di HCM")
            #expect(response.status == 503)
            #expect(response.header("Retry-After") != nil)
            try await runtime.database.sqlWrite { session in
                try session.execute(session.dialect == .sqlite ? "DROP TRIGGER refuse" : "DROP TRIGGER refuse ON inbound_message")
            }
            // The provider's retry then succeeds.
            let retry = try await postSMS(client, port: port, sid: "SM-503", from: "+84900000204", body: "TRE Lan 14t nu xa Lung Cu di HCM")
            #expect(retry.status == 200)
            #expect(try await runtime.database.reportCount() == 1)
        }
    }

    @Test("a Twilio signature is checked against the public URL; a wrong one is 403 and nothing is stored")
    func signatureChecked() async throws {
        try await withTipline(verify: true) { fake, runtime, port in
            let params = [("MessageSid", "SM-signed"), ("AccountSid", "ACtest"), ("From", "+84900000205"), ("To", "+84900000002"),
                          ("Body", "TRE Lan 14t nu xa Lung Cu di HCM"), ("NumSegments", "1")]
            let good = TwilioSignature.compute(url: "https://tipline.example.org/channels/sms/sms", parameters: params, authToken: "test-auth-token")
            let forged = try await postSMS(client, port: port, sid: "SM-signed", from: "+84900000205", body: "TRE Lan 14t nu xa Lung Cu di HCM",
                                           headers: [("X-Twilio-Signature", "AAAA" + good.dropFirst(4))])
            #expect(forged.status == 403)
            let missing = try await postSMS(client, port: port, sid: "SM-signed", from: "+84900000205", body: "TRE Lan 14t nu xa Lung Cu di HCM")
            #expect(missing.status == 403)
            #expect(try await runtime.database.inboundCount() == 0)
            let signed = try await postSMS(client, port: port, sid: "SM-signed", from: "+84900000205", body: "TRE Lan 14t nu xa Lung Cu di HCM",
                                           headers: [("X-Twilio-Signature", good)])
            #expect(signed.status == 200)
            #expect(try await runtime.database.inboundCount() == 1)
        }
    }
}

enum SMSTextCheck {
    static func isSingleGSM7(_ text: String) -> Bool {
        text.count <= 160 && text.unicodeScalars.allSatisfy { $0.isASCII }
    }
}

/// Polls the outbox (bounded) until `condition` holds.
func waitForOutbox(_ database: AppDatabase, timeout: Duration = .seconds(20),
                   _ condition: @Sendable ([OutboundMessage]) -> Bool) async throws -> [OutboundMessage] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let messages = try await database.outboundMessages()
        if !messages.isEmpty, condition(messages) { return messages }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await database.outboundMessages()
}
