import Foundation
import GRDB
import TiplineCore
import TiplineStore

/// What hotline staff can do to a case from the API or the web pages — the same as the officer SMS commands,
/// recorded in the timeline with the staff member's name.
struct CaseActions {
    let database: AppDatabase
    let deployment: DeploymentHolder
    let clock: @Sendable () -> Date

    enum Failure: Error, Equatable {
        case notFound
        case invalid(String)
        case conflict(String)
    }

    func acknowledge(_ number: Int, by staff: StaffIdentity) async throws -> Report {
        try await update(number, by: staff) { report, db, now in
            if let holder = report.assignedTo, holder != staff.name {
                throw Failure.conflict("report \(number) was already taken by \(holder)")
            }
            report.assignedTo = staff.name
            report.acknowledgedAt = report.acknowledgedAt ?? now
            if report.status == .open { report.status = .acknowledged }
            let policy = deployment.current.escalation.policy(province: report.provinceCode)
            report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: report.urgent).reminderAfter)
            report.callNow = false
            return ("acknowledged", nil)
        }
    }

    func note(_ number: Int, text: String, by staff: StaffIdentity) async throws -> Report {
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw Failure.invalid("note: text is empty") }
        return try await update(number, by: staff) { _, _, _ in ("note", text) }
    }

    func close(_ number: Int, result: String, by staff: StaffIdentity) async throws -> Report {
        guard !result.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw Failure.invalid("result: say how the case ended") }
        let current = deployment.current
        return try await update(number, by: staff) { report, db, now in
            guard report.status != .closed else { throw Failure.conflict("report \(number) is already closed") }
            report.status = .closed
            report.closedAt = now
            report.result = result
            report.nextEscalationAt = nil
            report.callNow = false
            if report.assignedTo == nil { report.assignedTo = staff.name }
            if current.settings.notifyReporterOnClose, let reporter = report.reporter,
               !(try AppDatabase.isOptedOut(db, phone: reporter)) {
                let channel = current.settings.channels[report.channel] != nil ? report.channel : current.settings.outboundChannel
                var message = OutboundMessage(channel: channel, recipient: reporter,
                                              body: current.replies.render(.reporterHandled, report.language, ["number": "\(number)"]),
                                              purpose: .reply, reportNumber: number, at: now)
                try message.insert(db)
            }
            return ("closed", result)
        }
    }

    /// Gives the case to an officer of the roster, who is alerted by SMS.
    func reassign(_ number: Int, to officerID: String, by staff: StaffIdentity) async throws -> Report {
        let current = deployment.current
        guard let officer = current.roster.officer(id: officerID) else {
            throw Failure.invalid("officer: '\(officerID)' is not in the roster")
        }
        return try await update(number, by: staff) { report, db, now in
            guard report.status != .closed else { throw Failure.conflict("report \(number) is closed") }
            report.assignedTo = officer.id
            report.acknowledgedAt = nil
            report.status = .acknowledged
            let policy = current.escalation.policy(province: report.provinceCode)
            report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: report.urgent).reminderAfter)
            let alerts = Alerts(db: db, deployment: current, now: now)
            try alerts.send(alerts.alertText(number: number, report: report.parsed), to: [officer], report: number, province: report.provinceCode, urgent: true)
            return ("reassigned", officer.id)
        }
    }

    /// Loads, changes, records the event, saves — in one transaction.
    private func update(_ number: Int, by staff: StaffIdentity, _ change: @escaping @Sendable (inout Report, Database, Date) throws -> (String, String?)) async throws -> Report {
        let now = clock()
        return try await database.writer.write { db in
            guard var report = try Report.fetchOne(db, key: number), report.kind != .command else { throw Failure.notFound }
            let (kind, detail) = try change(&report, db, now)
            report.updatedAt = now
            report.reminders = 0
            try report.update(db)
            var event = ReportEvent(reportNumber: number, at: now, kind: kind, actor: staff.name, detail: detail)
            try event.insert(db)
            return report
        }
    }
}

