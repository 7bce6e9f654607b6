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
/// a CSRF token on every form, growing waits after failed sign-ins. Every page that shows report data — the log, a
/// report, the duty board, the statistics, the phone simulator — and every export leaves one audit entry, as does each
/// sign-in and each failed one; the audit log never holds a child's detail.
/// No script and no inline style: the pages work under the strict Content-Security-Policy of ``SecurityHeadersMiddleware``.
///
/// This file holds the routes and what every page shares; each family of pages — sign-in, the log, one report,
/// the statistics, the admin pages, the phone simulator — lives in its own file with the view models of its templates.
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

    static func loadLibrary() async throws -> MustacheLibrary {
        guard let url = Bundle.module.url(forResource: "templates", withExtension: nil, subdirectory: "Resources") else {
            throw ConfigError(file: "Resources/templates", key: "", problem: "the web templates are missing from the build")
        }
        return try await MustacheLibrary(directory: url.path)
    }

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.get("static/tipline.css", use: stylesheet)
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
        pages.get("statistics", use: statistics)
        pages.get("statistics.csv", use: statisticsExport)
        pages.get("admin/channel-log", use: channelLogPage)
        pages.get("admin/audit", use: audit)
        pages.get("admin/access", use: access)
        pages.post("admin/access/tokens", use: createToken)
        pages.post("admin/access/tokens/revoke", use: revokeToken)
        pages.post("admin/access/users", use: createUser)
        pages.post("admin/access/users/unlock", use: unlockUser)
        pages.post("admin/access/users/disable", use: disableUser)
        pages.post("admin/access/users/enable", use: enableUser)
        pages.post("admin/access/users/delete", use: deleteUser)
        pages.post("admin/access/users/password", use: changePassword)
        pages.get("admin/erase", use: erasePage)
        pages.post("admin/erase", use: erase)
        // The phone page is a training tool: only with training on (the simulator channel exists only then).
        if simulatorChannel != nil, deployment.current.settings.training.enabled {
            pages.get("phone", use: phonePage)
            pages.post("phone", use: phone)
            pages.post("phone/ussd", use: phoneUSSD)
        }
    }

    // MARK: - Rendering

    /// Renders `page` inside the shared header, kept out of caches (``SecurityHeadersMiddleware`` adds the rest).
    func render<Page: WebPage>(_ page: Page, context: TiplineRequestContext, status: HTTPResponse.Status = .ok) -> Response {
        let staff = context.staff.map { staff in
            StaffBar(name: staff.name, role: staff.role.rawValue, csrf: context.csrf ?? "", admin: staff.role == .admin,
                     simulator: simulatorChannel != nil)
        }
        let frame = PageFrame(page: page, staff: staff, csrf: staff.map(\.csrf))
        let html = library.render(frame, withTemplate: Page.template) ?? "template \(Page.template) missing"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// The pages' one stylesheet (`Resources/static/tipline.css`): the Content-Security-Policy allows no inline style.
    static let stylesheetText: String? = Bundle.module.url(forResource: "tipline", withExtension: "css", subdirectory: "Resources/static")
        .flatMap { try? String(contentsOf: $0, encoding: .utf8) }

    @Sendable func stylesheet(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        guard let text = Self.stylesheetText else { throw HTTPError(.notFound, message: "the stylesheet is missing from the build") }
        return Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// The fields of a posted form (the session middleware has already checked its CSRF token).
    func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: 65536)
        var values: [String: String] = [:]
        for (key, value) in FormBody.parse(String(buffer: body)) { values[key] = value }
        return values
    }

    /// A time as the hotline reads it: the deployment's time zone, day first.
    /// (By calendar components: a DateFormatter made for each row was a tenth of a log page's time.)
    func local(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = deployment.current.settings.timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        func two(_ value: Int?) -> String { let value = value ?? 0; return value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(c.day))/\(two(c.month))/\(c.year ?? 0) \(two(c.hour)):\(two(c.minute))"
    }

    // MARK: - Who is asking

    /// The signed-in staff member (the session middleware put them in the context).
    func staff(_ context: TiplineRequestContext) throws -> StaffIdentity {
        guard let staff = context.staff else { throw HTTPError(.unauthorized) }
        return staff
    }

    /// What the signed-in staff member may see and do, by the same rules as the API.
    func reportAccess(_ context: TiplineRequestContext) throws -> StaffReportAccess {
        try StaffReportAccess(staff(context), in: deployment.current)
    }
}

/// A page's view model: one per template, whose stored properties carry the names of the template's variables
/// (swift-mustache reads them by reflection; an optional that is nil is absent, a `Bool` drives a section).
protocol WebPage {
    /// The template's name in `Resources/templates`, without `.mustache`.
    static var template: String { get }
}

/// The header's signed-in part: who, the sign-out form's CSRF token, and which links their role gets.
struct StaffBar {
    let name: String
    let role: String
    let csrf: String
    let admin: Bool
    let simulator: Bool
}

/// The root a template renders: the page's own values, plus what the shared header and every form need — the staff
/// bar and the session's CSRF token — so no page model has to carry them. Both are absent before sign-in.
struct PageFrame<Page: WebPage>: MustacheParent {
    let page: Page
    let staff: StaffBar?
    let csrf: String?

    func child(named name: String) -> Any? {
        if name == "staff", let staff { return staff }
        if name == "csrf", let csrf { return csrf }
        guard let value = Mirror(reflecting: page).children.first(where: { $0.label == name })?.value else { return nil }
        // As swift-mustache's own reflection does: a nil optional is absent (not the text "nil"), a present one unwrapped.
        let mirror = Mirror(reflecting: value)
        guard mirror.displayStyle == .optional else { return value }
        return mirror.children.first?.value
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
