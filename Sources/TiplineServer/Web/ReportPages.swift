import Foundation
import Hummingbird
import TiplineCore
import TiplineProviders
import TiplineStore

/// `report.mustache`: one report — every field, the raw text, the timeline — and the case actions.
struct ReportPage: WebPage {
    static let template = "report"

    /// An officer of the roster the case can be given to.
    struct OfficerChoice {
        let id: String
        let name: String
    }

    /// An outcome code of the close form.
    struct OutcomeChoice {
        let value: String
        let label: String
    }

    /// One event of the case's timeline.
    struct TimelineRow {
        let at: String
        let kind: String
        let actor: String
        let detail: String
    }

    let title: String
    let number: Int
    let status: String
    let kind: String
    let urgent: Bool
    let callNow: Bool
    let received: String
    let via: String
    let channel: String
    /// Masked for roles that may not see reporters' numbers.
    let reporter: String
    let child: String
    let area: String
    let village: String?
    /// The communes an ambiguous place name could be.
    let candidates: String?
    let destination: String
    let leftOn: String
    let companion: String
    let missing: String
    let assigned: String
    let result: String
    /// How the case ended (its outcome code's label), once closed with one.
    let outcome: String
    let text: String
    let closed: Bool
    /// The outcome of the action just taken ("OK" or a warning), carried by the redirect.
    let flash: String?
    let mayReassign: Bool
    let officers: [OfficerChoice]
    let outcomes: [OutcomeChoice]
    let timeline: [TimelineRow]
}

extension ReportPage {
    init(_ report: Report, timeline: [ReportEvent], access: StaffReportAccess, officers: [Officer], flash: String?,
         time: (Date) -> String) {
        let p = report.parsed
        let number = report.number ?? 0
        let child: [String?] = [p.child.name, p.child.age.map { "\($0) tuổi" }, p.child.sex?.rawValue]
        let area: String = p.origin.areaName.map { "\($0), \(p.origin.province ?? "")" } ?? p.origin.text ?? ""
        let companion: [String?] = [p.companion.name, p.companion.phone]
        self.init(
            title: "Report \(number)", number: number, status: report.status.rawValue, kind: p.kind.rawValue,
            urgent: report.urgent, callNow: report.callNow, received: time(report.receivedAt), via: report.via,
            channel: report.channel, reporter: access.view(report).reporter ?? "",
            child: child.compactMap { $0 }.joined(separator: ", "), area: area, village: p.origin.village,
            candidates: p.origin.candidates.isEmpty ? nil : p.origin.candidates.joined(separator: ", "),
            destination: p.destination.name ?? p.destination.text ?? "", leftOn: p.leftOn ?? "",
            companion: companion.compactMap { $0 }.joined(separator: " "),
            missing: p.missing.joined(separator: ", "), assigned: report.assignedTo ?? "", result: report.result ?? "",
            outcome: report.outcome?.label ?? "",
            text: report.text ?? "", closed: report.status == .closed, flash: flash, mayReassign: access.mayReassign,
            officers: officers.map { OfficerChoice(id: $0.id, name: $0.name) },
            outcomes: Outcome.allCases.map { OutcomeChoice(value: $0.rawValue, label: $0.label) },
            timeline: timeline.map { TimelineRow(at: time($0.at), kind: $0.kind, actor: $0.actor ?? "", detail: $0.detail ?? "") })
    }
}

/// One report and the actions on it, for whoever may read it.
extension WebController {
    /// The report named in the path, if the signed-in staff member may read it.
    func readable(_ context: TiplineRequestContext) async throws -> (StaffReportAccess, Report) {
        let access = try reportAccess(context)
        guard let number = context.parameters.get("number").flatMap(Int.init),
              let report = try await database.report(number: number), report.kind != .command else {
            throw HTTPError(.notFound, message: "no such report")
        }
        guard access.mayRead(report) else {
            throw HTTPError(.forbidden, message: "this report is outside the areas you cover")
        }
        return (access, report)
    }

    @Sendable func report(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (access, report) = try await readable(context)
        try await database.audit(access.staff, action: "view_report", target: "\(report.number!)", detail: "web", now: clock())
        let timeline = try await database.timeline(number: report.number!)
        let page = ReportPage(report, timeline: timeline, access: access, officers: deployment.current.roster.officers,
                              flash: request.uri.queryParameters["done"].map(String.init), time: local)
        return render(page, context: context)
    }

    @Sendable func act(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (access, report) = try await readable(context)
        let staff = access.staff
        let values = try await form(request)
        let number = report.number!
        do {
            switch context.parameters.get("action") {
            case "acknowledge": _ = try await actions.acknowledge(number, by: staff)
            case "notes": _ = try await actions.note(number, text: values["text"] ?? "", by: staff)
            case "close":
                let outcome = try values["outcome"].flatMap { code -> Outcome? in
                    guard !code.isEmpty else { return nil }
                    guard let outcome = Outcome(rawValue: code) else { throw CaseActions.Failure.invalid("outcome: '\(code)' is not an outcome code") }
                    return outcome
                }
                _ = try await actions.close(number, result: values["result"] ?? "", outcome: outcome, by: staff)
            case "reassign":
                guard access.mayReassign else { throw HTTPError(.forbidden, message: "only hotline staff and admins reassign cases") }
                _ = try await actions.reassign(number, to: values["officer"] ?? "", by: staff)
            default: throw HTTPError(.notFound, message: "no such action")
            }
        } catch let failure as CaseActions.Failure {
            let message: String
            switch failure {
            case .notFound: message = "no such report"
            case .invalid(let reason), .conflict(let reason): message = reason
            }
            return redirect("/reports/\(number)?done=\(FormBody.escape("⚠ " + message))")
        }
        return redirect("/reports/\(number)?done=\(FormBody.escape("OK"))")
    }
}
