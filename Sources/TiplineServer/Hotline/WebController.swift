import Foundation
import Hummingbird
import Logging
import Mustache
import TiplineCore
import TiplineProviders
import TiplineStore

/// The hotline web pages: server-rendered (swift-mustache), no JavaScript, usable on a slow connection.
///
/// Sign-in by name and password (scrypt), a session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` behind TLS),
/// a CSRF token on every form, lock-out after repeated failures. Every view of a report and every export is audited.
struct WebController {
    let database: AppDatabase
    let deployment: DeploymentHolder
    let actions: CaseActions
    let library: MustacheLibrary
    let simulator: SimulatorInbox
    let intake: Intake
    let ussd: UssdSessions
    let simulatorChannel: String?
    let channelLog: ChannelLogBuffer
    let clock: @Sendable () -> Date
    let logger: Logger

    static let sessionCookie = "tipline_session"
    static let loginCookie = "tipline_login"
    static let sessionLifetime: TimeInterval = 8 * 3600
    static let maxFailures = 5
    static let lockout: TimeInterval = 15 * 60

    static func loadLibrary() async throws -> MustacheLibrary {
        guard let url = Bundle.module.url(forResource: "templates", withExtension: nil, subdirectory: "Resources") else {
            throw ConfigError(file: "Resources/templates", key: "", problem: "the web templates are missing from the build")
        }
        return try await MustacheLibrary(directory: url.path)
    }

    var secureCookies: Bool { deployment.current.settings.publicURL.hasPrefix("https://") }

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.get("login", use: loginPage)
        router.post("login", use: login)
        let pages = router.group()
            .add(middleware: SessionMiddleware(database: database, clock: clock))
        pages.post("logout", use: logout)
        pages.get("/", use: log)
        pages.get("reports.csv", use: export)
        pages.get("reports/:number", use: report)
        pages.post("reports/:number/:action", use: act)
        pages.get("duty", use: duty)
        pages.get("admin/channel-log", use: channelLogPage)
        pages.get("admin/audit", use: audit)
        pages.get("admin/access", use: access)
        pages.post("admin/access/tokens", use: createToken)
        pages.post("admin/access/tokens/revoke", use: revokeToken)
        pages.post("admin/access/users", use: createUser)
        pages.post("admin/access/users/unlock", use: unlockUser)
        pages.get("phone", use: phonePage)
        pages.post("phone", use: phone)
        pages.post("phone/ussd", use: phoneUSSD)
    }

    // MARK: - Rendering

    func page(_ template: String, _ values: [String: Any], context: TiplineRequestContext, status: HTTPResponse.Status = .ok) -> Response {
        // An absent value must be absent for Mustache, not the text "nil".
        var values = values.filter { _, value in
            let mirror = Mirror(reflecting: value)
            return !(mirror.displayStyle == .optional && mirror.children.isEmpty)
        }
        if let staff = context.staff {
            values["staff"] = [
                "name": staff.name, "role": staff.role.rawValue, "csrf": context.csrf ?? "",
                "admin": staff.role == .admin, "simulator": simulatorChannel != nil,
            ] as [String: Any]
            values["csrf"] = context.csrf ?? ""
        }
        let html = library.render(values, withTemplate: template) ?? "template \(template) missing"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
                                                  .init("X-Frame-Options")!: "DENY", .init("Referrer-Policy")!: "no-referrer"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 65536)
        var values: [String: String] = [:]
        for (key, value) in FormBody.parse(String(buffer: body)) { values[key] = value }
        return values
    }

    func local(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = deployment.current.settings.timeZone
        formatter.dateFormat = "dd/MM/yyyy HH:mm"
        return formatter.string(from: date)
    }

    // MARK: - Sign-in

    @Sendable func loginPage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        loginForm(error: nil, next: request.uri.queryParameters["next"].map(String.init) ?? "/", context: context)
    }

    func loginForm(error: String?, next: String, context: TiplineRequestContext, status: HTTPResponse.Status = .ok) -> Response {
        // The login form's CSRF token is a double-submit cookie: there is no session yet.
        let token = StaffAuth.newToken(prefix: "")
        var response = page("login", ["title": "Sign in", "loginCSRF": token, "next": next, "error": error as Any], context: context, status: status)
        response.setCookie(Cookie(name: Self.loginCookie, value: token, maxAge: 3600, path: "/login", secure: secureCookies,
                                  httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func login(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let values = try await form(request)
        let next = values["next"].flatMap { $0.hasPrefix("/") && !$0.hasPrefix("//") ? $0 : nil } ?? "/"
        guard let sent = values["csrf"], let cookie = request.cookies[Self.loginCookie]?.value, !sent.isEmpty, sent == cookie else {
            return loginForm(error: "Phiên đăng nhập hết hạn, xin thử lại. / The sign-in form expired; please try again.", next: next,
                             context: context, status: .forbidden)
        }
        let name = values["name"] ?? "", password = values["password"] ?? ""
        let now = clock()
        let failure = "Sai tên hoặc mật khẩu. / Wrong name or password."
        guard let user = try await database.user(named: name) else {
            _ = StaffAuth.verify(password: password, hash: "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAA") // same time as a real check
            return loginForm(error: failure, next: next, context: context, status: .unauthorized)
        }
        if let locked = user.lockedUntil, locked > now {
            logger.warning("sign-in refused: account locked", metadata: ["user": "\(name)"])
            return loginForm(error: "Tài khoản tạm khoá sau nhiều lần sai; thử lại sau 15 phút hoặc nhờ quản trị mở. / Locked after repeated failures; try again in 15 minutes or ask an admin.",
                             next: next, context: context, status: .forbidden)
        }
        guard StaffAuth.verify(password: password, hash: user.passwordHash) else {
            try await database.recordFailedSignIn(userID: user.id, maxAttempts: Self.maxFailures, lockFor: Self.lockout, now: now)
            logger.notice("sign-in failed", metadata: ["user": "\(name)", "attempt": "\(user.failedAttempts + 1)"])
            return loginForm(error: failure, next: next, context: context, status: .unauthorized)
        }
        let session = StaffAuth.newToken(prefix: "")
        try await database.createSession(userID: user.id, hash: StaffAuth.hash(token: session), csrf: StaffAuth.newToken(prefix: ""),
                                         expires: now.addingTimeInterval(Self.sessionLifetime))
        try await database.audit(user.identity, action: "sign_in", target: nil, now: now)
        var response = redirect(next)
        response.setCookie(Cookie(name: Self.sessionCookie, value: session, maxAge: Int(Self.sessionLifetime), path: "/",
                                  secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func logout(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        if let session = request.cookies[Self.sessionCookie]?.value {
            try await database.deleteSession(hash: StaffAuth.hash(token: session))
        }
        var response = redirect("/login")
        response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    // MARK: - The log

    func staff(_ context: TiplineRequestContext) throws -> StaffIdentity {
        guard let staff = context.staff else { throw HTTPError(.unauthorized) }
        return staff
    }

    func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters where !value.isEmpty { query[String(key)] = String(value) }
        return query
    }

    @Sendable func log(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        let current = deployment.current
        var params = query(request)
        params["limit"] = params["limit"] ?? "200"
        var filter: AppDatabase.ReportFilter
        var error: String?
        do {
            filter = try ReportQuery.filter(params, now: clock())
            try ReportQuery.scope(&filter, for: staff, roster: current.roster, gazetteer: current.gazetteer)
        } catch let failure as APIError {
            error = failure.message
            filter = AppDatabase.ReportFilter()
            try ReportQuery.scope(&filter, for: staff, roster: current.roster, gazetteer: current.gazetteer)
        }
        filter.urgentFirst = true
        let reports = try await database.reports(filter)
        var scope = AppDatabase.ReportFilter()
        try? ReportQuery.scope(&scope, for: staff, roster: current.roster, gazetteer: current.gazetteer)
        let open = try await database.openCasesByArea(scope: scope)
        let rows: [[String: Any]] = reports.map { report in
            let p = report.parsed
            return [
                "number": report.number ?? 0, "received": local(report.receivedAt), "status": report.status.rawValue,
                "kind": p.kind.rawValue, "urgent": report.urgent, "callNow": report.callNow,
                "child": [p.child.name, p.child.age.map { "\($0)t" }, p.child.sex.map { $0 == .female ? "nữ" : "nam" }].compactMap { $0 }.joined(separator: " "),
                "area": p.origin.areaName ?? p.origin.text ?? "", "destination": p.destination.name ?? p.destination.text ?? "",
                "assigned": report.assignedTo ?? "",
            ]
        }
        let queryString = FormBody.encode(params.filter { $0.key != "limit" }.sorted { $0.key < $1.key })
        return page("log", [
            "title": "Log", "refresh": 60, "reports": rows, "error": error as Any,
            "statuses": Report.Status.allCases.map { ["value": $0.rawValue, "selected": params["status"] == $0.rawValue] },
            "kinds": ParsedMessage.Kind.allCases.filter { $0 != .command }.map { ["value": $0.rawValue, "selected": params["kind"] == $0.rawValue] },
            "urgentOnly": params["urgent"] == "true", "area": params["area"] ?? "", "q": params["q"] ?? "", "since": params["since"] ?? "",
            "query": queryString,
            "openByArea": open.prefix(20).map { ["name": current.gazetteer.area(code: $0.area)?.name ?? $0.area, "count": $0.count] },
        ], context: context, status: error == nil ? .ok : .badRequest)
    }

    @Sendable func export(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        let current = deployment.current
        var params = query(request)
        params["limit"] = params["limit"] ?? "500"
        var filter = try ReportQuery.filter(params, now: clock())
        try ReportQuery.scope(&filter, for: staff, roster: current.roster, gazetteer: current.gazetteer)
        let reports = try await database.reports(filter)
        try await database.audit(staff, action: "export_csv", target: nil, detail: "\(reports.count) reports (web)", now: clock())
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"tipline-reports.csv\""],
                        body: .init(byteBuffer: ByteBuffer(string: ReportView.csv(reports.map { ReportView(report: $0, showReporter: staff.seesReporterNumbers) }))))
    }

    // MARK: - One report

    func readable(_ context: TiplineRequestContext) async throws -> (StaffIdentity, Report) {
        let staff = try staff(context)
        guard let number = context.parameters.get("number").flatMap(Int.init),
              let report = try await database.report(number: number), report.kind != .command else {
            throw HTTPError(.notFound, message: "no such report")
        }
        guard ReportQuery.mayRead(report, staff: staff, roster: deployment.current.roster) else {
            throw HTTPError(.forbidden, message: "this report is outside the areas you cover")
        }
        return (staff, report)
    }

    @Sendable func report(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (staff, report) = try await readable(context)
        try await database.audit(staff, action: "view_report", target: "\(report.number!)", detail: "web", now: clock())
        let p = report.parsed
        let timeline = try await database.timeline(number: report.number!)
        let reporter = report.reporter.map { staff.seesReporterNumbers ? $0 : PhoneNumber.mask($0) } ?? ""
        return page("report", [
            "title": "Report \(report.number!)", "number": report.number!, "status": report.status.rawValue, "kind": p.kind.rawValue,
            "urgent": report.urgent, "callNow": report.callNow, "received": local(report.receivedAt), "via": report.via,
            "channel": report.channel, "reporter": reporter,
            "child": [p.child.name, p.child.age.map { "\($0) tuổi" }, p.child.sex?.rawValue].compactMap { $0 }.joined(separator: ", "),
            "area": p.origin.areaName.map { "\($0), \(p.origin.province ?? "")" } ?? p.origin.text ?? "", "village": p.origin.village as Any,
            "candidates": p.origin.candidates.isEmpty ? nil as String? as Any : p.origin.candidates.joined(separator: ", "),
            "destination": p.destination.name ?? p.destination.text ?? "", "leftOn": p.leftOn ?? "",
            "companion": [p.companion.name, p.companion.phone].compactMap { $0 }.joined(separator: " "),
            "missing": p.missing.joined(separator: ", "), "assigned": report.assignedTo ?? "", "result": report.result ?? "",
            "text": report.text ?? "", "closed": report.status == .closed, "flash": request.uri.queryParameters["done"].map(String.init) as Any,
            "mayReassign": staff.role != .officer,
            "officers": deployment.current.roster.officers.map { ["id": $0.id, "name": $0.name] },
            "timeline": timeline.map { ["at": local($0.at), "kind": $0.kind, "actor": $0.actor ?? "", "detail": $0.detail ?? ""] },
        ], context: context)
    }

    @Sendable func act(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (staff, report) = try await readable(context)
        let values = try await form(request)
        let number = report.number!
        do {
            switch context.parameters.get("action") {
            case "acknowledge": _ = try await actions.acknowledge(number, by: staff)
            case "notes": _ = try await actions.note(number, text: values["text"] ?? "", by: staff)
            case "close": _ = try await actions.close(number, result: values["result"] ?? "", by: staff)
            case "reassign":
                guard staff.role != .officer else { throw HTTPError(.forbidden, message: "only hotline staff and admins reassign cases") }
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

    // MARK: - Duty, admin, phone simulator

    @Sendable func duty(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        let overrides = try await database.reader.read { db in try AppDatabase.dutyOverrides(db, now: clock()) }
        let board = DutyBoard.now(deployment.current, at: clock(), overrides: overrides, staff: staff)
        func names(_ people: [DutyBoard.Person]) -> String { people.isEmpty ? "—" : people.map { "\($0.name) (\($0.phone))" }.joined(separator: ", ") }
        return page("duty", [
            "title": "On duty", "at": local(clock()),
            "areas": board.areas.map { ["name": $0.areaName, "code": $0.areaCode, "people": names($0.onDuty)] },
            "supervisors": names(board.supervisors), "hotline": names(board.hotline),
        ], context: context)
    }

    func adminOnly(_ context: TiplineRequestContext) throws -> StaffIdentity {
        let staff = try staff(context)
        guard staff.role == .admin else { throw HTTPError(.forbidden, message: "admins only") }
        return staff
    }

    @Sendable func channelLogPage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try adminOnly(context)
        try await channelLog.flush(to: database)
        let entries = try await database.channelLog(channel: nil, since: nil, limit: 300)
        return page("rows", [
            "title": "Channel log", "columns": ["at", "channel", "dir", "kind", "status", "ms", "error"],
            "rows": entries.map { ["cells": [local($0.at), $0.channel, $0.direction, $0.kind, $0.status.map(String.init) ?? "-",
                                             $0.latencyMS.map { String(format: "%.1f", $0) } ?? "-", $0.error ?? ""]] },
        ], context: context)
    }

    @Sendable func audit(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try adminOnly(context)
        let entries = try await database.auditLog(limit: 500)
        return page("rows", [
            "title": "Audit log", "columns": ["at", "who", "role", "action", "target", "detail"],
            "rows": entries.map { ["cells": [local($0.at), $0.actor, $0.role, $0.action, $0.target ?? "", $0.detail ?? ""]] },
        ], context: context)
    }

    // MARK: - Tokens and accounts (admins)

    func accessPage(_ context: TiplineRequestContext, newToken: String? = nil, error: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let tokens = try await database.tokens()
        let users = try await database.users()
        let now = clock()
        return page("access", [
            "title": "Access", "newToken": newToken as Any, "error": error as Any, "roles": StaffIdentity.Role.allCases.map(\.rawValue),
            "tokens": tokens.map { ["id": $0.id, "name": $0.name, "role": $0.role, "officer": $0.officerID ?? "", "created": local($0.createdAt),
                                    "state": $0.revokedAt.map { "revoked " + local($0) } ?? "active", "active": $0.revokedAt == nil] },
            "users": users.map { user -> [String: Any] in
                let locked = user.lockedUntil.map { $0 > now } ?? false
                return ["name": user.identity.name, "role": user.identity.role.rawValue, "officer": user.identity.officerID ?? "",
                        "locked": locked ? "until " + local(user.lockedUntil!) : "", "isLocked": locked]
            },
        ], context: context, status: status)
    }

    @Sendable func access(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try adminOnly(context)
        return try await accessPage(context)
    }

    /// The role and officer of a new token or account, checked against the roster.
    func roleAndOfficer(_ values: [String: String]) throws -> (StaffIdentity.Role, String?) {
        guard let role = values["role"].flatMap(StaffIdentity.Role.init(rawValue:)) else {
            throw CaseActions.Failure.invalid("role: one of hotline, officer, admin")
        }
        let officer = values["officer"].flatMap { $0.isEmpty ? nil : $0 }
        if role == .officer, officer.flatMap(deployment.current.roster.officer(id:)) == nil {
            throw CaseActions.Failure.invalid("officer: the officer role needs an officer id of the roster")
        }
        return (role, officer)
    }

    @Sendable func createToken(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let values = try await form(request)
        let name = (values["name"] ?? "").trimmingCharacters(in: .whitespaces)
        do {
            guard !name.isEmpty else { throw CaseActions.Failure.invalid("name: who or what uses the token") }
            let (role, officer) = try roleAndOfficer(values)
            let token = StaffAuth.newToken()
            _ = try await database.insertToken(name: name, role: role, officerID: officer, hash: StaffAuth.hash(token: token), now: clock())
            try await database.audit(admin, action: "token_create", target: name, detail: role.rawValue, now: clock())
            return try await accessPage(context, newToken: token)
        } catch CaseActions.Failure.invalid(let reason) {
            return try await accessPage(context, error: reason, status: .badRequest)
        }
    }

    @Sendable func revokeToken(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let id = try await form(request)["id"] ?? ""
        _ = try await database.revokeToken(id, now: clock())
        try await database.audit(admin, action: "token_revoke", target: id, now: clock())
        return redirect("/admin/access")
    }

    @Sendable func createUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let values = try await form(request)
        let name = (values["name"] ?? "").trimmingCharacters(in: .whitespaces)
        do {
            guard !name.isEmpty else { throw CaseActions.Failure.invalid("name: the sign-in name") }
            guard (values["password"] ?? "").count >= 10 else { throw CaseActions.Failure.invalid("password: at least 10 characters") }
            let (role, officer) = try roleAndOfficer(values)
            guard try await database.user(named: name) == nil else { throw CaseActions.Failure.invalid("name: '\(name)' is taken") }
            try await database.insertUser(name: name, role: role, officerID: officer, passwordHash: try StaffAuth.hash(password: values["password"]!),
                                          now: clock())
            try await database.audit(admin, action: "user_create", target: name, detail: role.rawValue, now: clock())
            return redirect("/admin/access")
        } catch CaseActions.Failure.invalid(let reason) {
            return try await accessPage(context, error: reason, status: .badRequest)
        }
    }

    @Sendable func unlockUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let name = try await form(request)["name"] ?? ""
        _ = try await database.unlockUser(name: name)
        try await database.audit(admin, action: "user_unlock", target: name, now: clock())
        return redirect("/admin/access")
    }

    @Sendable func phonePage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try staff(context)
        guard simulatorChannel != nil else { throw HTTPError(.notFound, message: "the simulator channel is not enabled") }
        return phoneView(from: request.uri.queryParameters["from"].map(String.init) ?? "+84900000201", context: context)
    }

    func phoneView(from: String, context: TiplineRequestContext, ussd: [String: Any]? = nil) -> Response {
        let messages = simulator.messages().suffix(50).reversed().map { ["at": local($0.at), "to": $0.to, "body": $0.body] }
        var values: [String: Any] = ["title": "Phone simulator", "from": from, "messages": Array(messages)]
        if let channel = deployment.current.settings.ussdChannels.values.sorted(by: { $0.name < $1.name }).first {
            values["ussd"] = ussd ?? ["serviceCode": channel.serviceCode, "session": "web-" + UUID().uuidString, "text": "",
                                      "screen": "", "ended": true]
        }
        return page("phone", values, context: context)
    }

    /// Plays one step of a USSD session as the phone, through the same session store as the aggregator's requests.
    @Sendable func phoneUSSD(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try staff(context)
        guard let channel = deployment.current.settings.ussdChannels.values.sorted(by: { $0.name < $1.name }).first else {
            throw HTTPError(.notFound, message: "no USSD channel is enabled")
        }
        let values = try await form(request)
        let from = values["from"] ?? ""
        guard PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "'\(from)' is not a phone number") }
        var session = values["session"] ?? "web-" + UUID().uuidString
        var text = values["text"] ?? ""
        if values["restart"] != nil {
            session = "web-" + UUID().uuidString
            text = ""
        } else {
            let answer = values["answer"] ?? ""
            text = text.isEmpty ? answer : text + "*" + answer
        }
        let screen = try await ussd.answer(.init(sessionID: session, serviceCode: channel.serviceCode, phone: from, text: text), channel: channel)
        return phoneView(from: from, context: context, ussd: [
            "serviceCode": channel.serviceCode, "session": session, "text": text, "screen": String(screen.dropFirst(4)),
            "ended": screen.hasPrefix("END"),
        ])
    }

    @Sendable func phone(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        guard let channel = simulatorChannel else { throw HTTPError(.notFound, message: "the simulator channel is not enabled") }
        let values = try await form(request)
        let from = values["from"] ?? ""
        guard PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "'\(from)' is not a phone number") }
        _ = try await intake.receive(InboundSMS(providerMessageID: "WEB" + UUID().uuidString, from: from, to: nil, text: values["text"] ?? ""),
                                     channel: channel)
        try await database.audit(staff, action: "simulator_send", target: nil, now: clock())
        // Let the dispatcher deliver to the simulator before the page shows what it "sent".
        try await Task.sleep(for: .milliseconds(300))
        return redirect("/phone?from=\(FormBody.escape(from))")
    }
}

/// Reads the session cookie; pages without a session go to the sign-in form. Every POST must carry the session's CSRF token.
struct SessionMiddleware: RouterMiddleware {
    typealias Context = TiplineRequestContext
    let database: AppDatabase
    let clock: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let cookie = request.cookies[WebController.sessionCookie]?.value, !cookie.isEmpty,
              let (staff, csrf) = try await database.session(hash: StaffAuth.hash(token: cookie), now: clock()) else {
            if request.method == .get {
                return Response(status: .seeOther, headers: [.location: "/login?next=\(FormBody.escape(request.uri.path))"])
            }
            throw HTTPError(.unauthorized, message: "sign in first")
        }
        var context = context
        context.staff = staff
        context.csrf = csrf
        var request = request
        if request.method == .post {
            let body = try await request.collectBody(upTo: 65536)
            let sent = FormBody.parse(String(buffer: body)).first { $0.0 == "csrf" }?.1
            guard sent == csrf else {
                throw HTTPError(.forbidden, message: "missing or wrong CSRF token: reload the page and try again")
            }
        }
        return try await next(request, context)
    }
}
