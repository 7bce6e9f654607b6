import Foundation
import Hummingbird
import Logging
import TiplineStore

/// `login.mustache`: the sign-in form.
struct SignInPage: WebPage {
    static let template = "login"
    let title = "Sign in"
    /// The form's CSRF token, also sent as the `tipline_login` cookie (double submit): there is no session yet to hold one.
    let loginCSRF: String
    /// The local path to go to once signed in.
    let next: String
    let error: String?
}

/// Sign-in and sign-out: name and password, a session cookie, lock-out after repeated failures.
extension WebController {
    static let loginCookie = "tipline_login"
    static let sessionLifetime: TimeInterval = 8 * 3600
    static let maxFailures = 5
    static let lockout: TimeInterval = 15 * 60

    /// Cookies are `Secure` when the public address is HTTPS (behind the TLS proxy).
    var secureCookies: Bool { deployment.current.settings.publicURL.hasPrefix("https://") }

    @Sendable func loginPage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        loginForm(error: nil, next: request.uri.queryParameters["next"].map(String.init) ?? "/", context: context)
    }

    func loginForm(error: String?, next: String, context: TiplineRequestContext, status: HTTPResponse.Status = .ok) -> Response {
        // The login form's CSRF token is a double-submit cookie: there is no session yet.
        let token = StaffAuth.newToken(prefix: "")
        var response = render(SignInPage(loginCSRF: token, next: next, error: error), context: context, status: status)
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
}
