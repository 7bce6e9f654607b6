import Foundation
import TiplineCore
import TiplineStore

/// Queues alerts to officers for the case workflow, as on-call systems do (GoAlert is the model): one SMS per
/// officer per bundle window at most; alerts that come within the window wait and leave together as one SMS listing
/// every case — bundled, never dropped. An urgent alert never waits: it leaves at once, carrying whatever was waiting.
struct Alerts {
    let store: CaseStore
    let deployment: Deployment
    let now: Date

    var workflow: CaseWorkflow { CaseWorkflow(store: store, deployment: deployment, now: now) }

    /// Queues to each officer the text in their own language. A normal tip's alert waits for the end of the quiet
    /// hours of the report's province, and for the officer's bundle window.
    /// `bundle`: a case alert, which may join the alert waiting for an officer; other texts (reminders, call-now,
    /// group warnings) always leave as they are.
    func send(_ text: (ParsedMessage.Language) -> String, to officers: [Officer], report: Report, bundle: Bool = true) throws {
        let policy = deployment.escalation.policy(province: report.provinceCode)
        let due = policy.outsideQuietHours(now, urgent: report.urgent)
        // Never a child's details to a number that has not proved itself, whatever level named it.
        let unconfirmed = try workflow.unconfirmedOfficers()
        var seen = Set<String>()
        var texts: [ParsedMessage.Language: String] = [:]
        for officer in officers where !unconfirmed.contains(officer.id) && seen.insert(officer.phone).inserted {
            let body = texts[officer.language] ?? text(officer.language)
            texts[officer.language] = body
            try queue(body, to: officer, report: report.number!, urgent: report.urgent, due: due, bundle: bundle)
        }
    }

    /// One alert to one officer: alone, or joined to the alert already waiting for them.
    private func queue(_ body: String, to officer: Officer, report number: Int, urgent: Bool, due: Date, bundle: Bool) throws {
        let channel = deployment.settings.outboundChannel
        let window = deployment.settings.alertBundleWindow
        var due = due
        if !urgent, window > 0, let last = try store.lastAlertDue(to: officer.phone, since: now.addingTimeInterval(-window)),
           last.addingTimeInterval(window) > due {
            due = last.addingTimeInterval(window) // the officer's rate: one alert SMS a window
        }
        var alert = OutboundMessage(channel: channel, recipient: officer.phone, body: body, purpose: .alert, reportNumber: number, at: now)
        alert.nextAttemptAt = due
        alert.bundleable = bundle
        guard bundle, window > 0, var waiting = try store.heldAlert(to: officer.phone, channel: channel, now: now),
              waiting.reportNumber != number else {
            try store.enqueue(&alert)
            return
        }
        // Join the waiting alert: this row is kept (the case's outbox shows it) but leaves inside the waiting one.
        alert.state = .bundled
        alert.bundleID = waiting.id
        try store.enqueue(&alert)
        let members = try store.bundleMembers(waiting.id!, limit: Self.listedInBundle)
        var numbers = members.listed
        if let first = waiting.reportNumber { numbers.insert(first, at: 0) }
        waiting.setBody(try bundleText(numbers.prefix(Self.listedInBundle).map { $0 }, total: members.count + 1, language: officer.language))
        waiting.nextAttemptAt = min(waiting.nextAttemptAt, due)
        waiting.updatedAt = now
        try store.update(waiting)
    }

    /// The cases a bundle's SMS names; the rest are counted ("+3 ca khac").
    static let listedInBundle = 4

    /// "3 ca moi: KHAN #1002 Lan 14t nu Lung Cu; #1003 …": urgent first, up to three segments.
    private func bundleText(_ numbers: [Int], total: Int, language: ParsedMessage.Language) throws -> String {
        var items: [(urgent: Bool, text: String)] = []
        for number in numbers {
            guard let report = try store.alertFacts(number) else { continue }
            let tag = report.urgent ? (language == .vi ? "KHAN " : "URGENT ") : ""
            items.append((report.urgent, "\(tag)#\(number) " + OfficerAlert.summary(report.parsed, language: language)))
        }
        var cases = items.enumerated().sorted { ($0.element.urgent ? 0 : 1, $0.offset) < ($1.element.urgent ? 0 : 1, $1.offset) }
            .map(\.element.text).joined(separator: "; ")
        if total > items.count { cases += language == .vi ? "; +\(total - items.count) ca khac" : "; +\(total - items.count) more" }
        return deployment.replies.render(.officerBundle, language, ["count": "\(total)", "cases": cases], septets: 3 * 153)
    }

    /// The alert for a report, in a language.
    func alertText(number: Int, report: ParsedMessage) -> (ParsedMessage.Language) -> String {
        { language in OfficerAlert.text(number: number, report: report, catalogue: deployment.replies, language: language) }
    }

    /// The officers a level's targets name for a report, falling through to the province and hotline when empty.
    func recipients(_ targets: [EscalationPolicy.Target], report: Report, everyone: Bool) throws -> [Officer] {
        let roster = deployment.roster
        let area = report.areaCode.flatMap(deployment.gazetteer.area(code:))
        let alerted = try store.alertedRecipients(report: report.number!)
        let overrides = try workflow.unavailableOfficers()
        var officers: [Officer] = []
        for target in targets {
            switch target {
            case .commune:
                if let area {
                    officers += roster.officers.filter { $0.role == .officer && $0.covers(area) && (everyone || !alerted.contains($0.phone))
                        && !overrides.off.contains($0.id) }
                }
            case .province:
                officers += roster.route(area: nil, provinceCode: area?.provinceCode ?? report.provinceCode, at: now,
                                         extraOnDuty: overrides.on, offDuty: overrides.off).officers
            case .hotline:
                officers += roster.route(area: nil, at: now, extraOnDuty: overrides.on, offDuty: overrides.off).officers
            }
        }
        if officers.isEmpty, !targets.contains(.province) {
            return try recipients([.province], report: report, everyone: everyone)
        }
        return officers
    }
}
