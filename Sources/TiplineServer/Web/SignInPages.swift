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

/// Sign-in and sign-out: name and password, a session cookie, growing waits after failures (``SignInThrottle``).
///
/// A success is audited as the account (`sign_in`); each failure as `anonymous` (`sign_in_failed`) with the client's
/// network only (``maskedAddress(_:)``) and whether it was throttled — never the name typed, which may be someone's
/// real name mistyped.
extension WebController {
    static let loginCookie = "tipline_login"
    static let sessionLifetime: TimeInterval = 8 * 3600
    /// The one answer to every failed sign-in — unknown name, wrong password, too many tries, disabled account — so
    /// that it tells nobody which names exist.
    static let signInFailure = "Sai tên hoặc mật khẩu, hoặc thử quá nhiều lần: xin chờ rồi thử lại. / "
        + "Wrong name or password, or too many tries: wait and try again."

    /// Cookies are `Secure` when the public address is HTTPS (behind the TLS proxy).
    var secureCookies: Bool { deployment.current.settings.publicURL.hasPrefix("https://") }

    @Sendable func loginPage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        loginForm(error: nil, next: Self.localPath(request.uri.queryParameters["next"].map(String.init)), context: context)
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
        let next = Self.localPath(values["next"])
        guard let sent = values["csrf"], let cookie = request.cookies[Self.loginCookie]?.value, !sent.isEmpty, sent == cookie else {
            return loginForm(error: "Phiên đăng nhập hết hạn, xin thử lại. / The sign-in form expired; please try again.", next: next,
                             context: context, status: .forbidden)
        }
        let name = values["name"] ?? "", password = values["password"] ?? ""
        let address = clientAddress(request, context: context)
        let throttle = SignInThrottle(database: database, clock: clock)
        func refused(throttled: Bool) async throws -> Response {
            try await database.audit(actor: "anonymous", role: "none", action: "sign_in_failed", target: nil,
                                     detail: "address=\(Self.maskedAddress(address)); throttled=\(throttled ? "yes" : "no")", now: clock())
            return loginForm(error: Self.signInFailure, next: next, context: context, status: .unauthorized)
        }
        guard try await throttle.admit(name: name, address: address) else {
            logger.notice("sign-in refused: too many failures, waiting", metadata: ["user": "\(name.prefix(64))"])
            return try await refused(throttled: true)
        }
        let user = try await database.user(named: name)
        let cost = deployment.current.settings.passwordCost
        // An unknown name is checked against a decoy hash of the same cost: the answer takes as long as for a real account.
        let matches = await StaffAuth.verifyOffLoop(password: password, hash: user?.passwordHash ?? StaffAuth.decoy(cost: cost))
        guard let user, matches, user.disabledAt == nil else {
            logger.notice("sign-in failed", metadata: ["user": "\(name.prefix(64))", "disabled": "\(user?.disabledAt != nil)"])
            return try await refused(throttled: false)
        }
        try await throttle.succeeded(name: name, address: address)
        await strengthenHash(of: user, password: password, to: cost)
        let now = clock()
        let session = StaffAuth.newToken(prefix: "")
        try await database.createSession(userID: user.id, hash: StaffAuth.hash(token: session), csrf: StaffAuth.newToken(prefix: ""),
                                         expires: now.addingTimeInterval(Self.sessionLifetime), now: now)
        try await database.audit(user.identity, action: "sign_in", target: nil, now: now)
        var response = redirect(next)
        response.setCookie(Cookie(name: Self.sessionCookie, value: session, maxAge: Int(Self.sessionLifetime), path: "/",
                                  secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// Replaces a hash made at a weaker cost than `cost` (N = 2^14 before) once the password is known to be right.
    func strengthenHash(of user: AppDatabase.StaffUser, password: String, to cost: StaffAuth.Cost) async {
        guard let stored = StaffAuth.cost(of: user.passwordHash), stored.isWeaker(than: cost) else { return }
        do {
            let stronger = try await StaffAuth.hashOffLoop(password: password, cost: cost)
            try await database.rehashPassword(userID: user.id, from: user.passwordHash, to: stronger)
            logger.info("password rehashed at the current cost", metadata: ["user": "\(user.identity.name)"])
        } catch {
            logger.warning("could not rehash a password", metadata: ["user": "\(user.identity.name)", "error": "\(error)"])
        }
    }

    @Sendable func logout(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        if let session = request.cookies[Self.sessionCookie]?.value {
            try await database.deleteSession(hash: StaffAuth.hash(token: session))
        }
        var response = redirect("/login")
        response.setCookie(Cookie(name: Self.sessionCookie, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    // MARK: - Where to, and from where

    /// `next` when it is a path on this site, else `/`: never another site after signing in.
    ///
    /// Accepted: printable ASCII starting with one `/`, whose percent-decoded form also starts with one `/` and has no
    /// control character or backslash (browsers read `\` as `/` and drop tabs and newlines, so `/\evil`, `/%5Cevil` and
    /// `/%09/evil` would become `//evil`), and which parses as a URL with no scheme, host, user or port.
    static func localPath(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), next.utf8.count <= 2048,
              next.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != "\\" }),
              let decoded = next.removingPercentEncoding, decoded.hasPrefix("/"), !decoded.hasPrefix("//"),
              !decoded.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\\" }),
              let url = URLComponents(string: next), url.scheme == nil, url.host == nil, url.user == nil, url.port == nil,
              url.percentEncodedPath.hasPrefix("/")
        else { return "/" }
        return next
    }

    /// The client's address, for the per-address sign-in throttle: the peer, or the last `X-Forwarded-For` entry when the
    /// peer is a trusted proxy (`server.trusted_proxies`).
    func clientAddress(_ request: Request, context: TiplineRequestContext) -> String {
        let peer = context.remoteAddress?.ipAddress ?? "unknown"
        guard deployment.current.settings.trustedProxies.contains(peer),
              let forwarded = request.headers[values: .xForwardedFor].joined(separator: ",").split(separator: ",").last
        else { return peer }
        let client = forwarded.trimmingCharacters(in: .whitespaces)
        guard !client.isEmpty, client.count <= 45, client.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" }) else { return peer }
        return client
    }
}

extension WebController {
    /// A client address as the audit log keeps it: its network, not the machine — IPv4 to the /24 (`203.0.113.0/24`),
    /// IPv6 to the /48 (`2001:db8:7::/48`; an IPv4-mapped address as IPv4); anything else is `unknown`.
    static func maskedAddress(_ address: String) -> String {
        var text = address.split(separator: "%", maxSplits: 1).first.map(String.init) ?? "" // no zone (`fe80::1%eth0`)
        if text.lowercased().hasPrefix("::ffff:"), text.contains(".") { text = String(text.dropFirst(7)) }
        if let octets = ipv4Octets(text) { return "\(octets[0]).\(octets[1]).\(octets[2]).0/24" }
        guard let groups = ipv6Groups(text) else { return "unknown" }
        return groups.prefix(3).map { String($0, radix: 16) }.joined(separator: ":") + "::/48"
    }

    static func ipv4Octets(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.allSatisfy({ (1...3).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { return nil }
        let octets = parts.compactMap { UInt8($0) }
        return octets.count == 4 ? octets : nil
    }

    static func ipv4Octets(_ text: String) -> [UInt8]? { ipv4Octets(Substring(text)) }

    /// The eight 16-bit groups of an IPv6 address in text form (`::` shortening and a trailing IPv4 part allowed).
    static func ipv6Groups(_ text: String) -> [UInt16]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            guard !part.isEmpty else { return [] }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            var result: [UInt16] = []
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, let octets = ipv4Octets(piece) {
                    result += [UInt16(octets[0]) << 8 | UInt16(octets[1]), UInt16(octets[2]) << 8 | UInt16(octets[3])]
                } else {
                    guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit), let value = UInt16(piece, radix: 16) else { return nil }
                    result.append(value)
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        guard halves.count == 2 else { return head.count == 8 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
        return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
    }
}

extension HTTPFields.Element.Name {
    static var xForwardedFor: Self { Self("X-Forwarded-For")! }
}
