import Foundation
import TiplineCore
import TiplineStore

/// The escalation and reminder timers: durable in the report rows, each moved forward in the same transaction that
/// queues its alerts, so a restart loses none and fires none twice.
extension CaseWorkflow {
    /// Handles every due timer; returns what each did (`level_1`, `call_now`, `reminder`, …).
    func runDueTimers() throws -> [String] {
        var steps: [String] = []
        for var report in try store.dueTimers(now: now, limit: 200) {
            if report.status == .open {
                steps.append(try escalate(&report))
            } else {
                steps.append(try remind(&report))
            }
            try store.update(report)
        }
        return steps
    }

    /// Nobody took the case: the next level, or "call now" when the levels and repeats are used up.
    func escalate(_ report: inout Report) throws -> String {
        let number = report.number!
        let policy = deployment.escalation.policy(province: report.provinceCode)
        let position = EscalationPolicy.Position(level: report.escalationLevel, round: report.escalationRound)
        guard let (next, _) = policy.next(after: position, urgent: report.urgent, from: now) else {
            report.callNow = true
            report.nextEscalationAt = nil
            let hotline = try alerts.recipients([.hotline], report: report, everyone: true)
            var urgent = report
            urgent.urgent = true
            try alerts.send({ [deployment, parsed = report.parsed] language in
                deployment.replies.render(.hotlineCallNow, language, ["number": "\(number)", "details": OfficerAlert.summary(parsed, language: language)])
            }, to: hotline, report: urgent, bundle: false)
            try event(number, "call_now", detail: "no acknowledgement at any level; hotline: \(hotline.map(\.id).joined(separator: ", "))")
            return "call_now"
        }
        let officers = try alerts.recipients(policy.targets(of: next, urgent: report.urgent), report: report, everyone: next.round > 0)
        try alerts.send(alerts.alertText(number: number, report: report.parsed), to: officers, report: report)
        try event(number, "escalated", detail: "level \(next.level)\(next.round > 0 ? " (repeat \(next.round))" : ""): \(officers.map(\.id).joined(separator: ", "))")
        report.escalationLevel = next.level
        report.escalationRound = next.round
        if let (_, due) = policy.next(after: next, urgent: report.urgent, from: now) {
            report.nextEscalationAt = due
        } else {
            // The last level: wait as long once more, then call now.
            let track = policy.track(urgent: report.urgent)
            report.nextEscalationAt = policy.outsideQuietHours(now.addingTimeInterval(track.levels.last?.delay ?? 3600), urgent: report.urgent)
        }
        return "level_\(next.level)"
    }

    /// A taken case with no update: a reminder to its officer first, then the province.
    func remind(_ report: inout Report) throws -> String {
        let number = report.number!
        let policy = deployment.escalation.policy(province: report.provinceCode)
        let interval = policy.track(urgent: report.urgent).reminderAfter
        let quietSince = report.updatedAt.addingTimeInterval(interval)
        if quietSince > now {
            report.nextEscalationAt = quietSince // updated since the timer was set
            return "rescheduled"
        }
        if report.reminders == 0, let holder = report.assignedTo.flatMap(deployment.roster.officer(id:)) {
            try alerts.send({ [deployment] in deployment.replies.render(.officerReminder, $0, ["number": "\(number)"]) }, to: [holder], report: report,
                            bundle: false)
            try event(number, "reminder", detail: holder.id)
            report.reminders = 1
            report.nextEscalationAt = policy.outsideQuietHours(now.addingTimeInterval(interval), urgent: report.urgent)
            return "reminder"
        }
        let officers = try alerts.recipients([.province], report: report, everyone: true)
        try alerts.send(alerts.alertText(number: number, report: report.parsed), to: officers, report: report)
        try event(number, "escalated", detail: "no update after a reminder: \(officers.map(\.id).joined(separator: ", "))")
        report.reminders = 0
        report.nextEscalationAt = policy.outsideQuietHours(now.addingTimeInterval(interval), urgent: report.urgent)
        return "after_reminder"
    }
}
