import Foundation
import GRDB
import TiplineCore
import TiplineStore

/// Queues alerts to officers, shared by the intake, officer commands and the escalation timer.
struct Alerts {
    let db: Database
    let deployment: Deployment
    let now: Date

    /// Queues to each officer the text in their own language; a normal tip's alert waits for the end of the quiet hours
    /// of the report's province.
    func send(_ text: (ParsedMessage.Language) -> String, to officers: [Officer], report: Int, province: String?, urgent: Bool) throws {
        let policy = deployment.escalation.policy(province: province)
        let at = policy.outsideQuietHours(now, urgent: urgent)
        var seen = Set<String>()
        var texts: [ParsedMessage.Language: String] = [:]
        for officer in officers where seen.insert(officer.phone).inserted {
            let body = texts[officer.language] ?? text(officer.language)
            texts[officer.language] = body
            var alert = OutboundMessage(channel: deployment.settings.outboundChannel, recipient: officer.phone, body: body,
                                        purpose: .alert, reportNumber: report, at: now)
            alert.nextAttemptAt = at
            try alert.insert(db)
        }
    }

    /// The alert for a report, in a language.
    func alertText(number: Int, report: ParsedMessage) -> (ParsedMessage.Language) -> String {
        { language in OfficerAlert.text(number: number, report: report, catalogue: deployment.replies, language: language) }
    }

    /// The officers a level's targets name for a report, falling through to the province and hotline when empty.
    func recipients(_ targets: [EscalationPolicy.Target], report: Report, everyone: Bool) throws -> [Officer] {
        let roster = deployment.roster
        let area = report.areaCode.flatMap(deployment.gazetteer.area(code:))
        let alerted = Set(try String.fetchAll(db, sql: "SELECT DISTINCT recipient FROM outbox WHERE report_number = ? AND purpose = 'alert'",
                                              arguments: [report.number]))
        let overrides = try AppDatabase.dutyOverrides(db, now: now)
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
