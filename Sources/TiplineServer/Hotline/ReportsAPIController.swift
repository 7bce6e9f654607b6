import Foundation
import Hummingbird
import TiplineCore
import TiplineStore

/// `/api/v1`: the report log for hotline staff and case systems. Every call is authenticated by a bearer token,
/// scoped by role (officers see the areas they cover), and every read — a list or search, one report, an export, the
/// duty board — leaves one audit entry, with the search text redacted (``ReportQuery/auditDetail(_:query:rows:via:channels:refused:)``).
struct ReportsAPIController {
    let database: AppDatabase
    let deployment: DeploymentHolder
    let actions: CaseActions
    let clock: @Sendable () -> Date

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.get("api/v1/openapi.yaml") { _, _ -> Response in
            guard let url = Bundle.module.url(forResource: "openapi", withExtension: "yaml", subdirectory: "Resources"),
                  let data = try? Data(contentsOf: url) else { throw APIError(.internalServerError, "the OpenAPI file is missing") }
            return Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        let api = router.group("api/v1")
            .add(middleware: APIErrorMiddleware())
            .add(middleware: BearerTokenMiddleware(database: database, clock: clock))
        api.get("reports", use: list)
        api.get("reports.csv", use: csv)
        api.get("reports/:number", use: show)
        api.post("reports/:number/acknowledge", use: acknowledge)
        api.post("reports/:number/notes", use: note)
        api.post("reports/:number/close", use: close)
        api.post("reports/:number/reassign", use: reassign)
        api.get("duty", use: duty)
        api.get("statistics", use: statistics)
        api.get("statistics.csv", use: statisticsCSV)
    }

    func staff(_ context: TiplineRequestContext) throws -> StaffIdentity {
        guard let staff = context.staff else { throw APIError(.unauthorized, "missing or invalid bearer token") }
        return staff
    }

    /// What `staff` may see and do, by the same rules as the web pages.
    func access(for staff: StaffIdentity) -> StaffReportAccess {
        StaffReportAccess(staff, in: deployment.current)
    }

    /// The query string's parameters, checked and narrowed to what the caller may see.
    func filtered(_ request: Request, context: TiplineRequestContext, maxLimit: Int = 500) throws -> (StaffReportAccess, AppDatabase.ReportFilter, query: [String: String]) {
        let access = try access(for: staff(context))
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let known: Set = ["since", "until", "status", "kind", "urgent", "area", "channel", "q", "limit", "cursor"]
        if let unknown = query.keys.first(where: { !known.contains($0) }) {
            throw APIError(.badRequest, "\(unknown): unknown parameter (known: \(known.sorted().joined(separator: ", ")))")
        }
        let filter = try access.scoped(ReportQuery.filter(query, now: clock(), maxLimit: maxLimit))
        return (access, filter, query)
    }

    /// One audit entry for a read of the log: the filters (search text redacted) and how many rows went out.
    func auditRead(_ action: String, _ access: StaffReportAccess, filter: AppDatabase.ReportFilter, query: [String: String],
                   rows: Int) async throws {
        let detail = ReportQuery.auditDetail(filter, query: query, rows: rows, via: "api", channels: ReportQuery.channelNames(deployment.current))
        try await database.audit(access.staff, action: action, target: nil, detail: detail, now: clock())
    }

    @Sendable func list(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (access, filter, query) = try filtered(request, context: context)
        let reports = try await database.reports(filter)
        try await auditRead("list_reports", access, filter: filter, query: query, rows: reports.count)
        let body = Page(reports: reports.map(access.view),
                        nextCursor: ReportQuery.cursor(after: reports, limit: filter.limit))
        return try json(body)
    }

    @Sendable func csv(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        var (access, filter, query) = try filtered(request, context: context, maxLimit: ReportExport.maxRows)
        guard access.mayExport else { throw APIError(.forbidden, "your role may not export reports") }
        if request.uri.queryParameters["limit"] == nil { filter.limit = ReportExport.defaultRows }
        return try await export(access, filter, query)
    }

    private func export(_ access: StaffReportAccess, _ filter: AppDatabase.ReportFilter, _ query: [String: String]) async throws -> Response {
        let channels = ReportQuery.channelNames(deployment.current)
        return try await ReportExport.response(access, filter: filter, database: database, now: clock()) { rows in
            ReportQuery.auditDetail(filter, query: query, rows: rows, via: "api", channels: channels)
        }
    }

    func readable(_ context: TiplineRequestContext) async throws -> (StaffIdentity, Report) {
        let staff = try staff(context)
        guard let text = context.parameters.get("number"), let number = Int(text) else {
            throw APIError(.badRequest, "number: a report number such as 1001")
        }
        guard let report = try await database.report(number: number), report.kind != .command else {
            throw APIError(.notFound, "no report \(number)")
        }
        guard access(for: staff).mayRead(report) else {
            throw APIError(.forbidden, "report \(number) is outside the areas you cover")
        }
        return (staff, report)
    }

    @Sendable func show(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (staff, report) = try await readable(context)
        try await database.audit(staff, action: "view_report", target: "\(report.number!)", detail: "api", now: clock())
        var view = access(for: staff).view(report)
        view.timeline = try await database.timeline(number: report.number!)
        return try json(view)
    }

    struct ActionBody: Decodable {
        var text: String?
        var note: String?
        var result: String?
        var outcome: String?
        var officer: String?
    }

    func body(_ request: Request) async throws -> ActionBody {
        let buffer = try await request.body.collect(upTo: 16384)
        guard buffer.readableBytes > 0 else { return ActionBody() }
        do {
            return try JSONDecoder().decode(ActionBody.self, from: Data(buffer: buffer))
        } catch {
            throw APIError(.badRequest, "body: expected a JSON object such as {\"text\": \"…\"}")
        }
    }

    func act(_ request: Request, context: TiplineRequestContext,
             _ action: (StaffIdentity, Int, ActionBody) async throws -> Report) async throws -> Response {
        let (staff, report) = try await readable(context)
        let body = try await body(request)
        let updated = try await action(staff, report.number!, body)
        var view = access(for: staff).view(updated)
        view.timeline = try await database.timeline(number: updated.number!)
        return try json(view)
    }

    @Sendable func acknowledge(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await act(request, context: context) { staff, number, _ in try await actions.acknowledge(number, by: staff) }
    }

    @Sendable func note(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await act(request, context: context) { staff, number, body in
            try await actions.note(number, text: body.text ?? body.note ?? "", by: staff)
        }
    }

    @Sendable func close(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await act(request, context: context) { staff, number, body in
            try await actions.close(number, result: body.result ?? body.text ?? "", outcome: try Self.outcome(body.outcome), by: staff)
        }
    }

    /// An outcome code as sent (`returned`, `not_found` …); nil or empty: none. Anything else is a 400.
    static func outcome(_ code: String?) throws -> Outcome? {
        guard let code, !code.isEmpty else { return nil }
        guard let outcome = Outcome(rawValue: code) else {
            throw APIError(.badRequest, "outcome: '\(code)' is not one of \(Outcome.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return outcome
    }

    @Sendable func reassign(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await act(request, context: context) { staff, number, body in
            guard access(for: staff).mayReassign else { throw APIError(.forbidden, "only hotline staff and admins reassign cases") }
            guard let officer = body.officer, !officer.isEmpty else { throw APIError(.badRequest, "officer: the roster id to give the case to") }
            return try await actions.reassign(number, to: officer, by: staff)
        }
    }

    @Sendable func duty(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        let roster = deployment.current
        let overrides = try await database.dutyOverrides(now: clock())
        let board = DutyBoard.now(roster, at: clock(), overrides: overrides, staff: staff, confirmed: try await database.confirmedRosterNumbers())
        try await database.audit(staff, action: "view_duty", target: nil, detail: "api", now: clock())
        return try json(board)
    }

    func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    struct Page: Encodable {
        let reports: [ReportView]
        let nextCursor: String?
        enum CodingKeys: String, CodingKey { case reports, nextCursor = "next_cursor" }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(reports, forKey: .reports)
            try c.encode(nextCursor, forKey: .nextCursor)
        }
    }
}

/// Who is on duty now, per area, province and hotline.
struct DutyBoard: Encodable {
    struct Person: Encodable {
        let id: String
        let name: String
        let role: String
        let phone: String
    }
    struct AreaDuty: Encodable {
        let areaCode: String
        let areaName: String
        let onDuty: [Person]
        enum CodingKeys: String, CodingKey { case areaCode = "area_code", areaName = "area_name", onDuty = "on_duty" }
    }
    let at: String
    let areas: [AreaDuty]
    let supervisors: [Person]
    let hotline: [Person]
    /// Officers whose number has not confirmed its invitation: routing passes over them.
    let unconfirmed: [Person]

    static func now(_ deployment: Deployment, at instant: Date, overrides: (on: Set<String>, off: Set<String>), staff: StaffIdentity,
                    confirmed: Set<RosterNumber>) -> DutyBoard {
        let roster = deployment.roster
        let access = StaffReportAccess(staff, in: deployment)
        func person(_ officer: Officer) -> Person {
            Person(id: officer.id, name: officer.name, role: officer.role.rawValue, phone: access.phone(officer.phone))
        }
        let covered = Set(roster.officers.flatMap(\.areas))
        let unconfirmed = deployment.settings.confirmOfficerNumbers
            ? roster.officers.filter { !confirmed.contains(RosterNumber(officerID: $0.id, phone: $0.phone)) } : []
        let off = overrides.off.union(unconfirmed.map(\.id))
        let areas = deployment.gazetteer.areas.filter { covered.contains($0.code) }.map { area in
            AreaDuty(areaCode: area.code, areaName: area.name,
                     onDuty: roster.onDuty(in: area, at: instant, extraOnDuty: overrides.on, offDuty: off).map(person))
        }
        let onDuty = roster.officers.filter {
            !off.contains($0.id) && (overrides.on.contains($0.id) || $0.isOnDuty(at: instant, in: roster.timeZone))
        }
        return DutyBoard(at: ReportView.iso(instant), areas: areas,
                         supervisors: onDuty.filter { $0.role == .supervisor }.map(person),
                         hotline: onDuty.filter { $0.role == .hotline }.map(person), unconfirmed: unconfirmed.map(person))
    }
}

/// `Authorization: Bearer <token>` → the token's staff identity; a missing or unknown token is 401. A token that
/// authenticates has its `last_used_at` brought up to date (at most once a minute).
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = TiplineRequestContext
    let database: AppDatabase
    let clock: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            var error = APIError(.unauthorized, "missing bearer token: send Authorization: Bearer <token> (tipline token create)")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        guard let staff = try await database.authenticate(tokenHash: StaffAuth.hash(token: token), now: clock()) else {
            var error = APIError(.unauthorized, "invalid or revoked token")
            error.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
            throw error
        }
        var context = context
        context.staff = staff
        return try await next(request, context)
    }
}
