import Foundation
import Testing
import TiplineCore
@testable import TiplineServer
@testable import TiplineStore

/// What one number can make tipline send: every message is stored, answers are held back past the limits.
@Suite("Abuse limits")
struct AbuseLimitTests {
    func answers(_ s: Scenario, to phone: String) async throws -> [String] {
        try await s.runtime.database.outboundMessages().filter { $0.recipient == phone }.map(\.body)
    }

    func metrics(_ s: Scenario) -> String {
        var buffer: [UInt8] = []
        s.runtime.metrics.registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    @Test("past N messages in the window: still stored, one 'slow down' answer, then silence; counted in /metrics")
    func senderRate() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        let flooder = "+84900000701"
        for index in 0..<13 { _ = try await s.sms(flooder, "TRE em \(index) 14t xa Lung Cu di HCM") }
        #expect(try await s.runtime.database.inboundCount() == 13, "every message stored")
        let sent = try await answers(s, to: flooder)
        #expect(sent.count == 11)
        #expect(sent.last?.hasPrefix("Ban da gui nhieu tin") == true)
        #expect(metrics(s).contains(#"tipline_replies_withheld_total{reason="sender_rate"} 2"#))
        // After the window the sender is answered again.
        s.clock.advance(minutes: 11)
        _ = try await s.sms(flooder, "HD")
        #expect(try await answers(s, to: flooder).count == 12)
    }

    @Test("answers only to allowed country codes (default Vietnam); a foreign sender's report is stored and routed")
    func countryAllowList() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        let foreign = "+15555550123"
        _ = try await s.sms(foreign, "TRE Lan 14t nu xa Lung Cu di HCM")
        #expect(try await answers(s, to: foreign).isEmpty)
        #expect(try await s.recipients(1001).contains(lungCuPolice), "the child's report still reaches the officers")
        #expect(metrics(s).contains(#"tipline_replies_withheld_total{reason="country"} 1"#))
    }

    @Test("at most M answers to one number an hour")
    func recipientCap() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        var deployment = s.runtime.deployment.current
        deployment.settings.limits.inboundPerSender = 1000
        deployment.settings.limits.smsPerRecipientPerHour = 5
        s.runtime.deployment.replace(deployment)
        for _ in 0..<8 { _ = try await s.sms("+84900000702", "HD") }
        #expect(try await answers(s, to: "+84900000702").count == 5)
        s.clock.advance(minutes: 61)
        _ = try await s.sms("+84900000702", "HD")
        #expect(try await answers(s, to: "+84900000702").count == 6)
    }

    @Test("after a few unreadable messages in a day, no more answers to them (no reply loops with machines)")
    func unreadableSilence() async throws {
        var s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        let machine = "+84900000703"
        for _ in 0..<5 { _ = try await s.sms(machine, "Quy khach da duoc cong 10000d vao tai khoan") }
        #expect(try await answers(s, to: machine).count == 3)
        #expect(try await s.runtime.database.reportCount() == 5, "all kept for staff")
        _ = try await s.sms(machine, "TRE Lan 14t nu xa Lung Cu di HCM")
        #expect(try await answers(s, to: machine).count == 4, "a readable report is still answered")
    }
}
