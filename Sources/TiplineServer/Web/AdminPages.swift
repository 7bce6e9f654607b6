import Foundation
import Hummingbird
import TiplineCore
import TiplineProviders
import TiplineStore

/// `duty.mustache`: who is on duty now, per commune, province and hotline.
struct DutyPage: WebPage {
    static let template = "duty"

    /// A commune some officer covers, and who is on duty there.
    struct AreaRow {
        let name: String
        let code: String
        let people: String
    }

    let title = "On duty"
    let at: String
    let areas: [AreaRow]
    let supervisors: String
    let hotline: String
    /// Officers whose number has not answered its invitation: they get no alerts until it does.
    let unconfirmed: String
}

extension DutyPage {
    init(_ board: DutyBoard, at: String) {
        // "Name (phone), …", or a dash for nobody.
        func names(_ people: [DutyBoard.Person]) -> String {
            people.isEmpty ? "—" : people.map { "\($0.name) (\($0.phone))" }.joined(separator: ", ")
        }
        self.init(at: at, areas: board.areas.map { AreaRow(name: $0.areaName, code: $0.areaCode, people: names($0.onDuty)) },
                  supervisors: names(board.supervisors), hotline: names(board.hotline), unconfirmed: board.unconfirmed.isEmpty ? "" : names(board.unconfirmed))
    }
}

/// `rows.mustache`: a plain table under a heading — the channel log and the audit log.
struct TablePage: WebPage {
    static let template = "rows"

    struct Row {
        let cells: [String]
    }

    let title: String
    let columns: [String]
    let rows: [Row]
}

/// `audit.mustache`: the audit log, newest first, filtered by time, actor and action, a page at a time.
struct AuditPage: WebPage {
    static let template = "audit"

    struct Entry {
        let id: Int64
        let at: String
        let actor: String
        let role: String
        let action: String
        let target: String
        let detail: String
    }

    let title = "Audit log"
    let error: String?
    /// The filters as typed.
    let since: String
    let actor: String
    let action: String
    /// Suggestions for the action field.
    let actions: [String]
    let entries: [Entry]
    /// The filters without the page, for going back to the newest entries; absent on the first page.
    let newest: String?
    /// The filters and the next page's start, when older entries match.
    let older: String?

    /// Entries a page shows.
    static let pageSize = 100
    /// The actions tipline writes, offered in the action field.
    static let knownActions = [
        "sign_in", "sign_in_failed", "list_reports", "export_csv", "view_report", "view_duty", "view_phone", "simulator_send",
        "simulator_ussd", "token_create", "token_revoke", "user_create", "user_unlock", "user_disable", "user_enable", "user_delete",
        "user_password", "show",
    ]
}

/// `access.mustache`: API tokens and sign-in accounts, for admins.
struct AccessPage: WebPage {
    static let template = "access"

    struct Token {
        let id: Int64
        let name: String
        let role: String
        let officer: String
        let created: String
        /// When it last authenticated (to the minute), or "never".
        let lastUsed: String
        /// "active", or when it was revoked.
        let state: String
        /// Whether it can still be revoked.
        let active: Bool
    }

    struct Account {
        let name: String
        let role: String
        let officer: String
        /// "active", "disabled …", or how long sign-ins wait after failures.
        let state: String
        /// Whether failed sign-ins are remembered for the account (an admin may clear them).
        let throttled: Bool
        let disabled: Bool
        /// Whether it is the signed-in admin's own account (not disabled or deleted from here).
        let own: Bool
    }

    let title = "Access"
    /// A token just made: shown once, never stored.
    let newToken: String?
    let error: String?
    let roles: [String]
    let tokens: [Token]
    let users: [Account]
}

/// The on-duty board for everyone; the channel log, the audit log, tokens and accounts for admins only.
extension WebController {
    @Sendable func duty(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try staff(context)
        let overrides = try await database.dutyOverrides(now: clock())
        let board = DutyBoard.now(deployment.current, at: clock(), overrides: overrides, staff: staff,
                                  confirmed: try await database.confirmedRosterNumbers())
        try await database.audit(staff, action: "view_duty", target: nil, detail: "web", now: clock())
        return render(DutyPage(board, at: local(clock())), context: context)
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
        let rows = entries.map { entry in
            TablePage.Row(cells: [local(entry.at), entry.channel, entry.direction, entry.kind, entry.status.map(String.init) ?? "-",
                                  entry.latencyMS.map { String(format: "%.1f", $0) } ?? "-", entry.error ?? ""])
        }
        return render(TablePage(title: "Channel log", columns: ["at", "channel", "dir", "kind", "status", "ms", "error"], rows: rows),
                      context: context)
    }

    /// The audit log: `since` (`24h`, `7d` or ISO 8601, as `tipline audit --since` reads it), `actor`, `action`
    /// (exact), and `before` (an entry id: the page of older entries).
    @Sendable func audit(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try adminOnly(context)
        let params = query(request)
        var filter = AuditQuery(actor: params["actor"], action: params["action"], limit: AuditPage.pageSize + 1)
        var problem: String?
        if let since = params["since"] {
            do {
                filter.since = try ReportLog.since(since, now: clock())
            } catch {
                problem = "since: '\(since)' is not a time (24h, 7d, 30m or 2026-11-28)"
            }
        }
        if let before = params["before"] {
            if let id = Int64(before) { filter.before = id } else { problem = "before: not a page this server gave" }
        }
        let found = problem == nil ? try await database.auditLog(filter) : []
        let entries = Array(found.prefix(AuditPage.pageSize))
        // The filters as links carry them: only the ones given, in a fixed order.
        let kept = ["since", "actor", "action"].compactMap { key in params[key].map { (key, $0) } }
        let page = AuditPage(
            error: problem, since: params["since"] ?? "", actor: params["actor"] ?? "", action: params["action"] ?? "",
            actions: AuditPage.knownActions,
            entries: entries.map { entry in
                AuditPage.Entry(id: entry.id, at: local(entry.at), actor: entry.actor, role: entry.role, action: entry.action,
                                target: entry.target ?? "", detail: entry.detail ?? "")
            },
            newest: filter.before == nil ? nil : FormBody.encode(kept),
            older: found.count > AuditPage.pageSize ? entries.last.map { FormBody.encode(kept + [("before", String($0.id))]) } : nil)
        return render(page, context: context, status: problem == nil ? .ok : .badRequest)
    }

    // MARK: - Tokens and accounts

    func accessPage(_ context: TiplineRequestContext, newToken: String? = nil, error: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let tokens = try await database.tokens()
        let users = try await database.users()
        let throttles = try await database.signInThrottles(users.map { SignInThrottleKey.account($0.identity.name) })
        let now = clock()
        let me = context.staff?.name
        let page = AccessPage(
            newToken: newToken, error: error, roles: StaffIdentity.Role.allCases.map(\.rawValue),
            tokens: tokens.map { token in
                AccessPage.Token(id: token.id, name: token.name, role: token.role, officer: token.officerID ?? "", created: local(token.createdAt),
                                 lastUsed: token.lastUsedAt.map(local) ?? "never",
                                 state: token.revokedAt.map { "revoked " + local($0) } ?? "active", active: token.revokedAt == nil)
            },
            users: users.map { user in
                let throttle = throttles[SignInThrottleKey.account(user.identity.name)]
                var state = "active"
                if let disabled = user.disabledAt {
                    state = "disabled " + local(disabled)
                } else if let until = throttle?.blockedUntil, until > now {
                    state = "\(throttle?.failures ?? 0) failed sign-ins, waiting until " + local(until)
                } else if let throttle {
                    state = "\(throttle.failures) failed sign-ins"
                }
                return AccessPage.Account(name: user.identity.name, role: user.identity.role.rawValue, officer: user.identity.officerID ?? "",
                                          state: state, throttled: throttle != nil, disabled: user.disabledAt != nil,
                                          own: user.identity.name == me)
            })
        return render(page, context: context, status: status)
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
            let password = try Self.newPassword(values["password"])
            let (role, officer) = try roleAndOfficer(values)
            guard try await database.user(named: name) == nil else { throw CaseActions.Failure.invalid("name: '\(name)' is taken") }
            let hash = try await StaffAuth.hashOffLoop(password: password, cost: deployment.current.settings.passwordCost)
            try await database.insertUser(name: name, role: role, officerID: officer, passwordHash: hash, now: clock())
            try await database.audit(admin, action: "user_create", target: name, detail: role.rawValue, now: clock())
            return redirect("/admin/access")
        } catch CaseActions.Failure.invalid(let reason) {
            return try await accessPage(context, error: reason, status: .badRequest)
        }
    }

    /// A new password as typed: 10 characters or more.
    static func newPassword(_ password: String?) throws -> String {
        guard let password, password.count >= 10 else { throw CaseActions.Failure.invalid("password: at least 10 characters") }
        return password
    }

    /// Clears the account's failed sign-ins.
    @Sendable func unlockUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let name = try await form(request)["name"] ?? ""
        _ = try await database.unlockUser(name: name)
        try await database.audit(admin, action: "user_unlock", target: name, now: clock())
        return redirect("/admin/access")
    }

    /// Runs `change` on the account named in the form, audited as `action`; an unknown name, or the admin's own
    /// account where `notOwn`, is answered on the access page.
    func changeUser(_ request: Request, context: TiplineRequestContext, action: String, notOwn: Bool = true,
                    _ change: (String, [String: String]) async throws -> Int) async throws -> Response {
        let admin = try adminOnly(context)
        let values = try await form(request)
        let name = values["name"] ?? ""
        do {
            if notOwn, name == admin.name { throw CaseActions.Failure.invalid("name: not your own account (another admin can)") }
            guard try await change(name, values) > 0 else { throw CaseActions.Failure.invalid("name: no account '\(name)' to change") }
        } catch CaseActions.Failure.invalid(let reason) {
            return try await accessPage(context, error: reason, status: .badRequest)
        }
        try await database.audit(admin, action: action, target: name, now: clock())
        return redirect("/admin/access")
    }

    /// Disables an account: it cannot sign in and its sessions end at once.
    @Sendable func disableUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await changeUser(request, context: context, action: "user_disable") { name, _ in
            try await database.setUserDisabled(name: name, true, now: clock())
        }
    }

    @Sendable func enableUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await changeUser(request, context: context, action: "user_enable") { name, _ in
            try await database.setUserDisabled(name: name, false, now: clock())
        }
    }

    /// Deletes an account and ends its sessions; the audit log keeps its name.
    @Sendable func deleteUser(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await changeUser(request, context: context, action: "user_delete") { name, _ in
            try await database.deleteUser(name: name)
        }
    }

    /// Sets a new password: the account's sessions end (an admin changing their own is signed out) and its failed
    /// sign-ins are cleared.
    @Sendable func changePassword(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        try await changeUser(request, context: context, action: "user_password", notOwn: false) { name, values in
            let password = try Self.newPassword(values["password"])
            let hash = try await StaffAuth.hashOffLoop(password: password, cost: deployment.current.settings.passwordCost)
            return try await database.setPassword(name: name, passwordHash: hash)
        }
    }
}

/// `erase.mustache`: erasure on request — a reporter's number, or one case — with a preview first.
struct ErasePage: WebPage {
    static let template = "erase"
    let title = "Erase on request"
    let csrf: String
    let phone: String
    let report: String
    let preview: String?
    let done: String?
    let error: String?
}

extension WebController {
    /// Admins only: what `tipline erase` does, with a dry run unless "erase now" is ticked; audited.
    @Sendable func erasePage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        _ = try adminOnly(context)
        return render(ErasePage(csrf: context.csrf ?? "", phone: "", report: "", preview: nil, done: nil, error: nil), context: context)
    }

    @Sendable func erase(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let admin = try adminOnly(context)
        let values = try await form(request)
        let phoneText = (values["phone"] ?? "").trimmingCharacters(in: .whitespaces)
        let reportText = (values["report"] ?? "").trimmingCharacters(in: .whitespaces)
        let confirmed = values["confirm"] == "yes"
        func page(preview: String? = nil, done: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok) -> Response {
            render(ErasePage(csrf: context.csrf ?? "", phone: done == nil ? phoneText : "", report: done == nil ? reportText : "",
                             preview: preview, done: done, error: error), context: context, status: status)
        }
        let summary: PurgeSummary
        let target: String
        let action: String
        if !phoneText.isEmpty, reportText.isEmpty {
            guard let phone = PhoneNumber.normalise(phoneText) else { return page(error: "phone: not a phone number", status: .badRequest) }
            summary = try await database.erase(phone: phone, now: clock(), dryRun: !confirmed)
            (target, action) = (PhoneNumber.mask(phone), "erase_phone")
        } else if phoneText.isEmpty, let number = Int(reportText) {
            summary = try await database.erase(report: number, now: clock(), dryRun: !confirmed)
            (target, action) = ("report \(number)", "erase_report")
        } else {
            return page(error: "give a phone number or a report number, not both", status: .badRequest)
        }
        guard confirmed else { return page(preview: "Would erase / Sẽ xóa: \(summary)") }
        try await database.audit(admin, action: action, target: target, detail: summary.description, now: clock())
        return page(done: "Erased / Đã xóa: \(summary)")
    }
}
