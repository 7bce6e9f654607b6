import CurlHTTP
import Foundation
import GRDB
import Testing
import TiplineProviders
import TiplineServer
import TiplineStore

/// Every provider, for real: its inbound webhook over HTTP, and the reply sent in its own API format to a loopback server.
@Suite("End to end: every provider")
struct ProvidersEndToEndTests {
    let client = CurlClient()

    func providersDeployment(_ port: Int, outbox: String = "") async throws -> TestDeployment {
        try await TestDeployment(providerPort: port, extra: """
          at:
            provider: africastalking
            number: "12345"
            base_url: http://127.0.0.1:\(port)
            username: sandbox
            verify_requests: true
          vonage:
            provider: vonage
            number: "84900000003"
            base_url: http://127.0.0.1:\(port)
            verify_requests: false
          generic:
            provider: generic
            number: "+84900000004"
            base_url: http://127.0.0.1:\(port)/send
            verify_requests: true
        \(outbox)
        """, environment: [
            "TIPLINE_CHANNEL_AT_API_KEY": "at-key", "TIPLINE_CHANNEL_AT_WEBHOOK_TOKEN": "at-hook",
            "TIPLINE_CHANNEL_VONAGE_API_KEY": "vonage-key", "TIPLINE_CHANNEL_VONAGE_API_SECRET": "vonage-secret",
            "TIPLINE_CHANNEL_GENERIC_API_TOKEN": "generic-token", "TIPLINE_CHANNEL_GENERIC_WEBHOOK_TOKEN": "gen-hook",
        ])
    }

    /// Every provider's channel against one loopback server speaking all their formats.
    func withProviders(_ body: (FakeProviders, TiplineRuntime, Int) async throws -> Void) async throws {
        let fake = FakeProviders()
        try await runFakeProviders(fake) { providerPort in
            let deployment = try await providersDeployment(providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { port in try await body(fake, runtime, port) }
        }
    }

    func post(_ port: Int, _ path: String, form: [(String, String)]) async throws -> CurlResponse {
        try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)\(path)",
                                             headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(FormBody.encode(form).utf8)))
    }

    @Test("Africa's Talking, Vonage (GET, in parts out of order and twice) and generic JSON: in and out")
    func eachProvider() async throws {
        try await withProviders { fake, runtime, port in
            // Africa's Talking: form webhook with the channel token.
            let at = try await post(port, "/channels/at/sms?token=at-hook", form: [
                ("id", "ATXid_in1"), ("from", "+84900000211"), ("to", "12345"), ("text", "TRE Lan 14t nu xa Lung Cu di HCM"),
                ("date", "2026-11-28 02:00:00"), ("linkId", "l1"), ("networkCode", "45204")])
            #expect(at.status == 200)
            let noToken = try await post(port, "/channels/at/sms", form: [("id", "ATXid_in2"), ("from", "+84900000211"), ("text", "x")])
            #expect(noToken.status == 403)

            // Vonage: GET, a long message in two parts, the second first and the first twice.
            func vonagePart(_ number: Int, _ text: String, id: String? = nil) async throws -> Int {
                let query = FormBody.encode([("msisdn", "84900000212"), ("to", "84900000003"), ("messageId", id ?? "0B0\(number)"), ("text", text),
                                             ("type", "text"), ("concat", "true"), ("concat-ref", "42"), ("concat-total", "2"),
                                             ("concat-part", "\(number)")])
                return try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/channels/vonage/sms?\(query)")).status
            }
            #expect(try await vonagePart(2, " di Trung Quoc hom qua") == 200)
            #expect(try await vonagePart(1, "TRE Mai 13t nu xa Meo Vac") == 200)
            #expect(try await vonagePart(1, "TRE Mai 13t nu xa Meo Vac") == 200)

            // Generic JSON with a bearer-less token header.
            let generic = try await client.execute(CurlRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/channels/generic/sms",
                headers: [("Content-Type", "application/json"), ("X-Tipline-Token", "gen-hook")],
                body: Array(#"{"id": "g-1", "from": "+84900000213", "to": "+84900000004", "text": "KT 1001"}"#.utf8)))
            #expect(generic.status == 200)

            let sent = try await fake.waitFor { sent in
                ["africastalking", "vonage", "generic"].allSatisfy { provider in sent.contains { $0.provider == provider } }
            }
            let atReply = try #require(sent.first { $0.provider == "africastalking" })
            #expect(atReply.to == "+84900000211" && atReply.text.contains("1001"))
            let vonageReply = try #require(sent.first { $0.provider == "vonage" })
            #expect(vonageReply.to == "84900000212")
            #expect(vonageReply.text.contains("1002"))
            let genericReply = try #require(sent.first { $0.provider == "generic" })
            #expect(genericReply.to == "+84900000213")
            #expect(genericReply.text.contains("1001"), "status answer for the reporter's... ")

            let assembled = try #require(try await runtime.database.report(number: 1002))
            #expect(assembled.text == "TRE Mai 13t nu xa Meo Vac di Trung Quoc hom qua")
            #expect(assembled.parsed.destination.code == "CN")
            #expect(try await runtime.database.reportCount() == 2)

            // A later long message from the same phone that reuses concat-ref 42 is a new message, not a duplicate;
            // a late retry of a part already assembled stays a duplicate.
            #expect(try await vonagePart(1, "TRE Hoa 15t nu xa Lung Cu", id: "0C01") == 200)
            #expect(try await vonagePart(1, "TRE Mai 13t nu xa Meo Vac") == 200)
            #expect(try await vonagePart(2, " di Ha Noi", id: "0C02") == 200)
            let reused = try await waitForReport(runtime.database, 1003)
            #expect(reused.text == "TRE Hoa 15t nu xa Lung Cu di Ha Noi")
            #expect(try await runtime.database.reportCount() == 3)
        }
    }

    /// Waits for a report to exist (the webhook answers once it is stored, but a test may poll right after).
    func waitForReport(_ database: AppDatabase, _ number: Int) async throws -> Report {
        for _ in 0..<100 {
            if let report = try await database.report(number: number) { return report }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw CancellationError()
    }

    @Test("provider faults: 500 then 200 retries once more; garbage retries; 21610 stops at once; refused ends undeliverable")
    func faults() async throws {
        try await withProviders { fake, runtime, port in
            fake.script([.status(500, "{}"), .garbage])
            _ = try await postSMS(client, port: port, sid: "SM-f1", from: "+84900000221", body: "HD")
            let first = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent } }
            #expect(first.count == 1)
            #expect(first[0].attempts == 3)
            #expect(fake.sent.count == 1, "sent exactly once")

            fake.script([.status(400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}"#)])
            _ = try await postSMS(client, port: port, sid: "SM-f2", from: "+84900000222", body: "HD")
            let second = try await waitForOutbox(runtime.database) { $0.count == 2 && $0[1].state == .failed }
            #expect(second[1].state == .failed)
            #expect(second[1].attempts == 1)
            #expect(second[1].lastError?.contains("21610") == true)
        }
        // Connection refused: retried up to max_attempts (5 in the test deployment), then undeliverable.
        let refusing = try RefusingPort()
        defer { withExtendedLifetime(refusing) {} }
        let deployment = try await TestDeployment(providerPort: refusing.port)
        defer { deployment.remove() }
        let runtime = try await deployment.runtime()
        try await runTipline(runtime) { port in
            _ = try await postSMS(client, port: port, sid: "SM-f3", from: "+84900000223", body: "HD")
            let messages = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .undeliverable } }
            #expect(messages.first?.state == .undeliverable)
            #expect(messages.first?.attempts == 5)
            let log = try await waitForChannelLog(runtime) { $0.filter { $0.direction == "out" }.count >= 5 }
            #expect(log.filter { $0.direction == "out" && $0.status == nil }.count >= 5)
            #expect(log.contains { $0.direction == "in" && $0.status == 200 })
        }
    }

    @Test("a provider that answers too slowly is retried after the send timeout")
    func timeout() async throws {
        let fake = FakeProviders()
        try await runFakeProviders(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort, sendTimeout: 2)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { port in
                fake.script([.delay(.seconds(5))])
                _ = try await postSMS(client, port: port, sid: "SM-t1", from: "+84900000231", body: "HD")
                let messages = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent } }
                #expect(messages.first?.state == .sent)
                // At least one retry; on a loaded machine a retry can meet the 2 s timeout too.
                #expect((messages.first?.attempts ?? 0) >= 2)
                #expect(messages.first?.lastError == nil)
            }
        }
    }

    @Test("delivery reports update by provider id, in any order, late or twice; one that comes first is kept")
    func deliveryReports() async throws {
        let fake = FakeProviders()
        try await runFakeProviders(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { port in
                // A report about a message not (yet) recorded is accepted and kept.
                let early = try await post(port, "/channels/sms/status", form: [("MessageSid", "SM1"), ("MessageStatus", "delivered")])
                #expect(early.status == 200)
                _ = try await postSMS(client, port: port, sid: "SM-d1", from: "+84900000241", body: "HD")
                let delivered = try await waitForOutbox(runtime.database) { $0.first?.state == .delivered }
                #expect(delivered.first?.state == .delivered, "the early report applied once the send was recorded")
                // Late and repeated reports do not move it back.
                for status in ["sent", "delivered", "queued"] {
                    #expect(try await post(port, "/channels/sms/status", form: [("MessageSid", "SM1"), ("MessageStatus", status)]).status == 200)
                }
                #expect(try await runtime.database.outboundMessages().first?.state == .delivered)
                let bad = try await post(port, "/channels/sms/status", form: [("MessageSid", "SM1")])
                #expect(bad.status == 400)
            }
        }
    }
}

@Suite("End to end: channel rate limit")
struct RateLimitTests {
    let client = CurlClient()

    @Test("a channel's segments-per-second limit holds messages back, untried, and does not hold up a shutdown")
    func rateLimit() async throws {
        try await withTipline(segmentsPerSecond: 0.01) { fake, runtime, port in
            for index in 0..<4 {
                _ = try await postSMS(client, port: port, sid: "SM-rate-\(index)", from: "+8490000098\(index)", body: "HD")
            }
            _ = try await fake.waitFor { $0.count >= 1 }
            let outbox = try await waitForOutbox(runtime.database) { messages in
                messages.filter { $0.state == .sent }.count == 1 && messages.filter { $0.state == .queued }.count == 3
            }
            #expect(outbox.filter { $0.state == .sent }.count == 1, "one segment now; the next in 100 s")
            #expect(outbox.filter { $0.state == .queued }.allSatisfy { $0.attempts == 0 && $0.lastError == nil }, "held back, not failed")
            #expect(fake.received.count == 1)
        }
    }
}

func waitForChannelLog(_ runtime: TiplineRuntime, timeout: Duration = .seconds(20),
                       _ condition: @Sendable ([ChannelLogEntry]) -> Bool) async throws -> [ChannelLogEntry] {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        try await runtime.channelLog.flush(to: runtime.database)
        let entries = try await runtime.database.channelLog(channel: nil, since: nil, limit: 1000)
        if condition(entries) { return entries }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await runtime.database.channelLog(channel: nil, since: nil, limit: 1000)
}
