import Foundation
import Hummingbird
import Mustache
import TiplineCore
import TiplineProviders
import TiplineStore

/// `log.mustache`: the report log, "call now" and urgent unacknowledged cases first, with its filters.
struct LogPage: WebPage {
    static let template = "log"

    /// One report, one row.
    /// Its values by name, as the template asks for them: found by reflection (`Mirror`), the 200 rows' lookups were
    /// half of the page's time.
    struct Row: MustacheParent {
        let number: Int
        let received: String
        let status: String
        let kind: String
        let urgent: Bool
        let callNow: Bool
        let child: String
        let area: String
        let destination: String
        let assigned: String

        func child(named name: String) -> Any? {
            switch name {
            case "number": number
            case "received": received
            case "status": status
            case "kind": kind
            case "urgent": urgent
            case "callNow": callNow
            case "child": child
            case "area": area
            case "destination": destination
            case "assigned": assigned
            default: nil
            }
        }
    }

    /// One option of a filter's drop-down.
    struct Choice: MustacheParent {
        let value: String
        let selected: Bool

        func child(named name: String) -> Any? {
            switch name {
            case "value": value
            case "selected": selected
            default: nil
            }
        }
    }

    /// Open cases in one commune (or province).
    struct OpenCount: MustacheParent {
        let name: String
        let count: Int

        func child(named name: String) -> Any? {
            switch name {
            case "name": self.name
            case "count": count
            default: nil
            }
        }
    }

    let title = "Log"
    /// Seconds between reloads: the log is left open on a hotline desk.
    let refresh = 60
    let reports: [Row]
    /// What was wrong with the filters, which are then ignored.
    let error: String?
    let statuses: [Choice]
    let kinds: [Choice]
    let urgentOnly: Bool
    let area: String
    let q: String
    let since: String
    /// The filters as a query string, for the CSV link.
    let query: String
    let openByArea: [OpenCount]
}

extension LogPage.Row {
    init(_ report: Report, time: (Date) -> String) {
        let p = report.parsed
        let child: [String?] = [p.child.name, p.child.age.map { "\($0)t" }, p.child.sex.map { $0 == .female ? "nữ" : "nam" }]
        self.init(
            number: report.number ?? 0, received: time(report.receivedAt), status: report.status.rawValue, kind: p.kind.rawValue,
            urgent: report.urgent, callNow: report.callNow, child: child.compactMap { $0 }.joined(separator: " "),
            area: p.origin.areaName ?? p.origin.text ?? "", destination: p.destination.name ?? p.destination.text ?? "",
            assigned: report.assignedTo ?? "")
    }
}

/// The report log and its CSV export, both narrowed to what the signed-in staff member may see; each read leaves one
/// audit entry with its filters (the search text redacted) and how many rows it showed.
extension WebController {
    /// The query string's non-empty parameters.
    func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where !value.isEmpty { query[String(key)] = String(value) }
        return query
    }

    @Sendable func log(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let access = try reportAccess(context)
        var params = query(request)
        params["limit"] = params["limit"] ?? "200"
        var filter: AppDatabase.ReportFilter
        var error: String?
        do {
            filter = try access.scoped(ReportQuery.filter(params, now: clock()))
        } catch let failure as APIError {
            error = failure.message
            filter = try access.scoped(AppDatabase.ReportFilter())
        }
        filter.urgentFirst = true
        let reports = try await database.reports(filter)
        try await auditRead("list_reports", access, filter: filter, query: params, rows: reports.count, refused: error != nil)
        let open = try await database.openCasesByArea(scope: access.patch)
        let gazetteer = deployment.current.gazetteer
        let page = LogPage(
            reports: reports.map { LogPage.Row($0, time: local) }, error: error,
            statuses: Report.Status.allCases.map { LogPage.Choice(value: $0.rawValue, selected: params["status"] == $0.rawValue) },
            kinds: ParsedMessage.Kind.allCases.filter { $0 != .command }.map { LogPage.Choice(value: $0.rawValue, selected: params["kind"] == $0.rawValue) },
            urgentOnly: params["urgent"] == "true", area: params["area"] ?? "", q: params["q"] ?? "", since: params["since"] ?? "",
            query: FormBody.encode(params.filter { $0.key != "limit" }.sorted { $0.key < $1.key }),
            openByArea: open.prefix(20).map { LogPage.OpenCount(name: gazetteer.area(code: $0.area)?.name ?? $0.area, count: $0.count) })
        return render(page, context: context, status: error == nil ? .ok : .badRequest)
    }

    @Sendable func export(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let access = try reportAccess(context)
        guard access.mayExport else { throw HTTPError(.forbidden, message: "your role may not export reports") }
        var params = query(request)
        params["limit"] = params["limit"] ?? String(ReportExport.defaultRows)
        let filter = try access.scoped(ReportQuery.filter(params, now: clock(), maxLimit: ReportExport.maxRows))
        let audited = params
        let channels = ReportQuery.channelNames(deployment.current)
        return try await ReportExport.response(access, filter: filter, database: database, now: clock()) { rows in
            ReportQuery.auditDetail(filter, query: audited, rows: rows, via: "web", channels: channels)
        }
    }

    /// One audit entry for a read of the log through the web pages (``ReportQuery/auditDetail(_:query:rows:via:channels:refused:)``).
    func auditRead(_ action: String, _ access: StaffReportAccess, filter: AppDatabase.ReportFilter, query: [String: String],
                   rows: Int, refused: Bool = false) async throws {
        let detail = ReportQuery.auditDetail(filter, query: query, rows: rows, via: "web",
                                             channels: ReportQuery.channelNames(deployment.current), refused: refused)
        try await database.audit(access.staff, action: action, target: nil, detail: detail, now: clock())
    }
}
