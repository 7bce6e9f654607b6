import Foundation
import TiplineCore
import TiplineStore

/// A roster number proves itself before it receives a child's details: a typo in roster.yaml must not send alerts
/// to a stranger. A new or changed number is sent an invitation with no case details and a short code to reply
/// (`XACNHAN 4821`); until it does, routing treats that officer as off duty (their alerts go to the next level).
extension CaseWorkflow {
    /// The officers routing must pass over: off duty for the day, and (when numbers must be confirmed) not yet confirmed.
    func unavailableOfficers() throws -> (on: Set<String>, off: Set<String>) {
        var overrides = try store.dutyOverrides(now: now)
        overrides.off.formUnion(try unconfirmedOfficers())
        return overrides
    }

    /// The ids of roster officers whose current number has not confirmed its invitation.
    func unconfirmedOfficers() throws -> Set<String> {
        guard deployment.settings.confirmOfficerNumbers else { return [] }
        let confirmed = try store.confirmedRosterNumbers()
        return Set(deployment.roster.officers.filter { !confirmed.contains(RosterNumber(officerID: $0.id, phone: $0.phone)) }.map(\.id))
    }

    /// Sends an invitation to every roster number never invited (a new officer, or a changed number); returns how many.
    @discardableResult
    func inviteNewRosterNumbers() throws -> Int {
        guard deployment.settings.confirmOfficerNumbers else { return 0 }
        let invited = try store.invitedRosterNumbers()
        var count = 0
        for officer in deployment.roster.officers {
            let number = RosterNumber(officerID: officer.id, phone: officer.phone)
            guard !invited.contains(number) else { continue }
            let code = String(format: "%04d", Int.random(in: 1000...9999))
            // Recorded only once it is on its way (an opted-out or foreign number is tried again at the next run).
            guard try queue(replies.render(.officerInvitation, officer.language, ["code": code]),
                            to: ReplyAddress(phone: officer.phone, channel: deployment.settings.outboundChannel), report: nil, purpose: .reply) else { continue }
            try store.recordInvitation(number, code: code, at: now)
            count += 1
        }
        return count
    }

    /// `XACNHAN 4821` from a roster number: confirms it when the code is its invitation's.
    func confirmNumber(of officer: Officer, code: Int) throws -> Bool {
        try store.confirm(RosterNumber(officerID: officer.id, phone: officer.phone), code: String(format: "%04d", code), at: now)
    }
}
