import Foundation
import Testing
import TiplineCore
@testable import TiplineServer
@testable import TiplineStore

/// A roster number proves itself before it receives a child's details.
@Suite("Roster numbers confirmed")
struct RosterConfirmationTests {
    /// The sample deployment with confirmation on (the production default).
    static func scenario() async throws -> Scenario {
        let s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        var deployment = s.runtime.deployment.current
        deployment.settings.confirmOfficerNumbers = true
        s.runtime.deployment.replace(deployment)
        return s
    }

    func code(in text: String) throws -> String {
        try #require(text.firstMatch(of: /XACNHAN (\d{4})/)?.1).description
    }

    @Test("every roster number gets one invitation with no case details; unconfirmed numbers get no alert, the next level does")
    func invitationsAndRouting() async throws {
        var s = try await Self.scenario()
        defer { s.remove() }
        let invited = try await s.runtime.maintenance.inviteNewRosterNumbers()
        #expect(invited == s.runtime.deployment.current.roster.officers.count)
        #expect(try await s.runtime.maintenance.inviteNewRosterNumbers() == 0, "once per number")
        let invitation = try #require(try await s.runtime.database.outboundMessages().first { $0.recipient == lungCuPolice })
        #expect(invitation.reportNumber == nil && invitation.body.contains("XACNHAN"))

        // Nobody confirmed: the tip's alert goes to no unconfirmed number.
        _ = try await s.sms("+84900000801", "TRE Lan 14t nu xa Lung Cu di HCM")
        #expect(try await s.alerts(1001).isEmpty, "no child's details to an unproven number")

        // A wrong code confirms nothing; the right one does, and only that number.
        _ = try await s.sms(lungCuPolice, "XACNHAN 0000")
        let wrong = try await s.runtime.database.outboundMessages().last { $0.recipient == lungCuPolice }
        #expect(wrong?.body.hasPrefix("Ma xac nhan khong dung") == true)
        _ = try await s.sms(lungCuPolice, "XACNHAN \(try code(in: invitation.body))")
        let confirmed = try await s.runtime.database.outboundMessages().last { $0.recipient == lungCuPolice }
        #expect(confirmed?.body.hasPrefix("Da xac nhan") == true)
        _ = try await s.sms("+84900000802", "TRE Mai 13t nu xa Lung Cu di Ha Noi")
        #expect(try await s.recipients(1002) == [lungCuPolice], "the confirmed officer only (the Women's Union number has not confirmed)")
    }

    @Test("a changed number in the roster is invited again and gets nothing until it confirms")
    func changedNumber() async throws {
        var s = try await Self.scenario()
        defer { s.remove() }
        try await s.runtime.maintenance.inviteNewRosterNumbers()
        let code = try code(in: try #require(try await s.runtime.database.outboundMessages().first { $0.recipient == lungCuPolice }).body)
        _ = try await s.sms(lungCuPolice, "XACNHAN \(code)")
        // roster.yaml edited: the police officer's number mistyped, then reloaded.
        var deployment = s.runtime.deployment.current
        let typo = "+84900000911"
        deployment.roster = DutyRoster(officers: deployment.roster.officers.map { officer in
            var officer = officer
            if officer.id == "lungcu-police" { officer.phone = typo }
            return officer
        }, timeZone: deployment.roster.timeZone)
        s.runtime.deployment.replace(deployment)
        #expect(try await s.runtime.maintenance.inviteNewRosterNumbers() == 1)
        _ = try await s.sms("+84900000803", "KHAN Lan 14t nu xa Lung Cu bi ban sang TQ")
        let alerted = try await s.recipients(1001)
        #expect(!alerted.contains(typo), "the stranger at the mistyped number learns nothing")
        let toTypo = try await s.runtime.database.outboundMessages().filter { $0.recipient == typo }
        #expect(toTypo.count == 1 && toTypo[0].reportNumber == nil, "only the invitation")
    }
}
