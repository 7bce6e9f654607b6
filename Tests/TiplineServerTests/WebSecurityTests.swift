import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

/// Safe by default: security headers, the sign-in throttle per address, no account enumeration, `next` kept on this
/// site, disabling and deleting accounts and changing passwords, password rehashing, the CSV formula guard and the
/// operator token — through the real router where a request is involved.
@Suite("Web security")
struct WebSecurityTests {
    typealias Web = WebAccessTests

    /// The headers every response carries.
    static func expectSecurityHeaders(_ response: TestResponse, _ what: String, noStore: Bool = true, hsts: Bool = false,
                                      sourceLocation: SourceLocation = #_sourceLocation) {
        let headers = response.headers
        #expect(headers[.contentSecurityPolicy] == SecurityHeadersMiddleware.contentSecurityPolicy, "\(what)", sourceLocation: sourceLocation)
        #expect(headers[.xContentTypeOptions] == "nosniff", "\(what)", sourceLocation: sourceLocation)
        #expect(headers[.referrerPolicy] == "no-referrer", "\(what)", sourceLocation: sourceLocation)
        #expect(headers[.xFrameOptions] == "DENY", "\(what)", sourceLocation: sourceLocation)
        #expect((headers[.strictTransportSecurity] == "max-age=31536000") == hsts, "\(what): HSTS only with an https public_url",
                sourceLocation: sourceLocation)
        if noStore { #expect(headers[.cacheControl] == "no-store", "\(what)", sourceLocation: sourceLocation) }
    }

    /// A failed sign-in's page without its fresh CSRF token, to compare one failure with another.
    static func withoutToken(_ body: String) -> String {
        body.replacing(/name="csrf" value="[^"]+"/, with: "")
    }

    func withSettings(_ s: Scenario, _ change: (inout Settings) -> Void) {
        var deployment = s.runtime.deployment.current
        change(&deployment.settings)
        s.runtime.deployment.replace(deployment)
    }

    // MARK: - Headers

    @Test("CSP, nosniff, no referrer, no framing and no-store on the sign-in page, the log, a report, the CSV export and the API; HSTS only over https")
    func securityHeaders() async throws {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.sms("+84900000401", "TRE Lan 14t nu xa Lung Cu di HCM")
        try await s.addUser("desk", password: "desk password 1")
        let token = "tl_security_headers_test"
        _ = try await s.runtime.database.insertToken(name: "case system", role: .hotline, officerID: nil, hash: StaffAuth.hash(token: token),
                                                     now: s.clock.read())
        try await s.live { [s] client in
            let login = try await client.execute(uri: "/login", method: .get)
            Self.expectSecurityHeaders(login, "/login")
            let html = String(buffer: login.body)
            #expect(!html.contains("<script") && !html.contains("<style") && !html.contains("style="), "nothing inline for the CSP to block")
            #expect(html.contains(#"<link rel="stylesheet" href="/static/tipline.css">"#))
            let css = try await client.execute(uri: "/static/tipline.css", method: .get)
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
            #expect(String(buffer: css.body).contains("body{"))
            Self.expectSecurityHeaders(css, "/static/tipline.css", noStore: false)

            let cookie = try #require(try await Web.signIn(client, "desk", "desk password 1").cookie)
            let log = try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie])
            #expect(log.status == .ok)
            Self.expectSecurityHeaders(log, "the log")
            let report = try await client.execute(uri: "/reports/1001", method: .get, headers: [.cookie: cookie])
            #expect(report.status == .ok)
            Self.expectSecurityHeaders(report, "a report page")
            let export = try await client.execute(uri: "/reports.csv", method: .get, headers: [.cookie: cookie])
            #expect(export.status == .ok)
            Self.expectSecurityHeaders(export, "the web CSV export")

            let api = try await client.execute(uri: "/api/v1/reports/1001", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(api.status == .ok)
            Self.expectSecurityHeaders(api, "an API report")
            let apiCSV = try await client.execute(uri: "/api/v1/reports.csv", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(apiCSV.status == .ok)
            Self.expectSecurityHeaders(apiCSV, "the API CSV export")
            let refused = try await client.execute(uri: "/api/v1/reports", method: .get)
            #expect(refused.status == .unauthorized)
            Self.expectSecurityHeaders(refused, "an API error")
            let missing = try await client.execute(uri: "/no/such/page", method: .get)
            #expect(missing.status == .notFound)
            Self.expectSecurityHeaders(missing, "not found")

            withSettings(s) { $0.publicURL = "https://tipline.example.org" }
            Self.expectSecurityHeaders(try await client.execute(uri: "/login", method: .get), "/login over https", hsts: true)
            Self.expectSecurityHeaders(try await client.execute(uri: "/health/live", method: .get), "/health/live over https", hsts: true)
        }
    }

    // MARK: - Sign-in

    @Test("an unknown name, a wrong password, a disabled account and a waiting account get the same answer")
    func noEnumeration() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.addUser("gone", password: "gone password 1")
        #expect(try await s.runtime.database.setUserDisabled(name: "gone", true, now: s.clock.read()) == 1)
        try await s.live { client in
            let unknown = try await Web.attempt(client, "nobody", "some password 1")
            let wrong = try await Web.attempt(client, "desk", "wrong password 1")
            let disabled = try await Web.attempt(client, "gone", "gone password 1")
            for _ in 0..<2 { _ = try await Web.attempt(client, "desk", "wrong password 1") }
            let waiting = try await Web.attempt(client, "desk", "desk password 1")
            for attempt in [unknown, wrong, disabled, waiting] {
                #expect(attempt.status == .unauthorized && attempt.cookie == nil)
                #expect(Self.withoutToken(attempt.body) == Self.withoutToken(unknown.body))
            }
            #expect(unknown.body.contains("Wrong name or password, or too many tries: wait and try again"))
            #expect(!unknown.body.contains("Locked") && !unknown.body.contains("disabled"))
        }
    }

    @Test("each client address gets its own throttle; X-Forwarded-For counts only from a trusted proxy")
    func addressThrottle() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            // Ten names tried from one address (password spraying): that address waits, for every name.
            for index in 0..<10 { _ = try await Web.attempt(client, "ghost\(index)", "password guess 1") }
            #expect(try await Web.attempt(client, "desk", "desk password 1").cookie == nil)
            // The peer (127.0.0.1) is a trusted proxy by default: the client it names is another address.
            #expect(try await Web.attempt(client, "desk", "desk password 1", from: "203.0.113.9").cookie != nil)
            withSettings(s) { $0.trustedProxies = [] }
            #expect(try await Web.attempt(client, "desk", "desk password 1", from: "203.0.113.9").cookie == nil,
                    "an untrusted peer cannot choose its address")
            s.clock.advance(minutes: 1)
            #expect(try await Web.attempt(client, "desk", "desk password 1").cookie != nil, "the 30 s wait is over")
        }
    }

    static let foreignNext = [
        "//evil.example", "/\\evil.example", "/%09/evil.example", "/%5Cevil.example", "/%5cevil.example", "/%2F/evil.example",
        "///evil.example", "https://evil.example/", "http:/evil.example", "javascript:alert(1)", "evil.example", "",
        "/\t/evil.example", "/x\r\nSet-Cookie: a=b", "/%0d%0aSet-Cookie:%20a=b", "/\u{0}x", "/%00x", " /reports/1001",
    ]

    @Test("next is kept only as a path on this site")
    func localPathOnly() {
        for next in Self.foreignNext {
            #expect(WebController.localPath(next) == "/", "\(next.debugDescription)")
        }
        #expect(WebController.localPath(nil) == "/")
        for next in ["/", "/reports/1001", "/?status=open&kind=alert", "/reports/1001?done=OK", "/admin/access"] {
            #expect(WebController.localPath(next) == next)
        }
    }

    @Test("after sign-in, each foreign next ends at /; a local one is followed")
    func nextThroughTheRouter() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            for next in Self.foreignNext {
                let attempt = try await Web.attempt(client, "desk", "desk password 1", next: next)
                #expect(attempt.status == .seeOther && attempt.location == "/", "\(next.debugDescription) → \(attempt.location ?? "nil")")
            }
            let local = try await Web.attempt(client, "desk", "desk password 1", next: "/reports/1001")
            #expect(local.location == "/reports/1001")
            let form = try await client.execute(uri: "/login?next=%2F%2Fevil.example", method: .get)
            #expect(String(buffer: form.body).contains(#"name="next" value="/""#))
        }
    }

    @Test("a password hashed at the old cost (N = 2^14) still signs in and is rehashed at N = 2^17, r = 8, p = 1")
    func rehashAtSignIn() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        #expect(StaffAuth.Cost.standard == StaffAuth.Cost(rounds: 131072, blockSize: 8, parallelism: 1))
        // The runtime keeps the standard cost here (no useTestingPasswordCost): one hash at it, and one check.
        try await s.runtime.database.insertUser(name: "old", role: .hotline, officerID: nil,
                                                passwordHash: try StaffAuth.hash(password: "old password 1", cost: .legacy), now: s.clock.read())
        try await s.live { client async throws in
            #expect(try await Web.signIn(client, "old", "old password 1").cookie != nil)
        }
        let stored = try #require(try await s.runtime.database.user(named: "old")).passwordHash
        #expect(stored.hasPrefix("scrypt$131072$8$1$"))
        #expect(StaffAuth.verify(password: "old password 1", hash: stored))
    }

    // MARK: - Accounts

    @Test("disabling an account ends its sessions and refuses its sign-in; enabling lets it back; deleting removes it")
    func disableEnableDelete() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("root", role: .admin, password: "admin password 1")
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            let admin = try #require(try await Web.signIn(client, "root", "admin password 1").cookie)
            var desk = try #require(try await Web.signIn(client, "desk", "desk password 1").cookie)
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: desk]).status == .ok)

            #expect(try await Web.postAccessForm(client, cookie: admin, "users/disable", "name=desk").status == .seeOther)
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: desk]).status == .seeOther, "session revoked")
            let refused = try await Web.attempt(client, "desk", "desk password 1")
            #expect(refused.cookie == nil && refused.body.contains("Wrong name or password, or too many tries"))
            let page = try await client.execute(uri: "/admin/access", method: .get, headers: [.cookie: admin])
            #expect(String(buffer: page.body).contains("disabled "))
            #expect(try await Web.postAccessForm(client, cookie: admin, "users/disable", "name=root").status == .badRequest,
                    "not one's own account")

            #expect(try await Web.postAccessForm(client, cookie: admin, "users/enable", "name=desk").status == .seeOther)
            desk = try #require(try await Web.signIn(client, "desk", "desk password 1").cookie)

            #expect(try await Web.postAccessForm(client, cookie: admin, "users/delete", "name=desk").status == .seeOther)
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: desk]).status == .seeOther, "session gone")
            #expect(try await s.runtime.database.user(named: "desk") == nil)
            #expect(try await Web.signIn(client, "desk", "desk password 1").cookie == nil)
            #expect(try await Web.postAccessForm(client, cookie: admin, "users/delete", "name=desk").status == .badRequest, "no such account")

            let actions = try await s.runtime.database.auditLog(limit: 50).filter { $0.actor == "root" }.map(\.action)
            #expect(actions.contains("user_disable") && actions.contains("user_enable") && actions.contains("user_delete"))
        }
    }

    @Test("a new password ends the account's sessions; the old password is refused and the new one works")
    func changePassword() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("root", role: .admin, password: "admin password 1")
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            let admin = try #require(try await Web.signIn(client, "root", "admin password 1").cookie)
            let desk = try #require(try await Web.signIn(client, "desk", "desk password 1").cookie)
            #expect(try await Web.postAccessForm(client, cookie: admin, "users/password", "name=desk&password=short").status == .badRequest)
            #expect(try await Web.postAccessForm(client, cookie: admin, "users/password", "name=desk&password=new+desk+password").status == .seeOther)
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: desk]).status == .seeOther, "old session revoked")
            #expect(try await Web.signIn(client, "desk", "desk password 1").cookie == nil)
            #expect(try await Web.signIn(client, "desk", "new desk password").cookie != nil)
            #expect(try await s.runtime.database.auditLog(limit: 20).contains { $0.action == "user_password" && $0.target == "desk" })
        }
    }

    // MARK: - CSV

    @Test("a CSV field a spreadsheet could run as a formula is prefixed with '")
    func csvFormulaGuard() {
        let cases: [(String, String)] = [
            ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tcmd", "'\tcmd"),
            ("\r=cmd", "\"'\r=cmd\""), ("\r\n=cmd", "\"'\r\n=cmd\""), ("-inf", "'-inf"),
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
            ("+84900000201", "+84900000201"), ("-5", "-5"), ("-1.5", "-1.5"), ("Lan", "Lan"), ("a,b", "\"a,b\""), ("", ""),
        ]
        for (value, expected) in cases {
            #expect(ReportView.csvField(value) == expected, "\(value.debugDescription)")
        }
    }

    // MARK: - Operator endpoints

    @Test("with an operator token, /metrics and /health/ready need it; /health/live stays open")
    func operatorToken() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        let token = "operator-token-0123456789"
        withSettings(s) { $0.operatorToken = token }
        try await s.live { client in
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
            for uri in ["/metrics", "/health/ready"] {
                let anonymous = try await client.execute(uri: uri, method: .get)
                #expect(anonymous.status == .unauthorized, "\(uri)")
                #expect(anonymous.headers[.wwwAuthenticate] == "Bearer")
                Self.expectSecurityHeaders(anonymous, uri)
                #expect(try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer wrong-token"]).status == .unauthorized)
                #expect(try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(token)x"]).status == .unauthorized)
                let allowed = try await client.execute(uri: uri, method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(allowed.status != .unauthorized, "\(uri)")
            }
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(metrics.status == .ok && String(buffer: metrics.body).contains("tipline_"))
        }
    }

    @Test("with an operator listener, /metrics and /health/ready leave the main listener for it")
    func operatorListener() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        let token = "operator-token-0123456789"
        withSettings(s) {
            $0.operatorToken = token
            $0.operatorListen = Settings.ListenAddress(host: "127.0.0.1", port: 0)
        }
        try await Application(router: buildRouter(s.runtime)).test(.router) { client async throws in
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"]).status == .notFound)
            #expect(try await client.execute(uri: "/health/ready", method: .get, headers: [.authorization: "Bearer \(token)"]).status == .notFound)
        }
        try await Application(router: buildOperatorRouter(s.runtime)).test(.router) { client async throws in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(token)"]).status == .ok)
            #expect(try await client.execute(uri: "/health/live", method: .get).status == .ok)
        }
    }

    /// The settings of the sample deployment with `environment`, or the configuration errors as text.
    func load(environment: [String: String], editing edit: (String) -> String = { $0 }) throws -> Result<Settings, ConfigError> {
        let folder = try SampleDeployment.copy(editing: "tipline.yaml", edit)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            return .success(try Settings.load(path: folder.appendingPathComponent("tipline.yaml").path,
                                              environment: SampleDeployment.keys.merging(environment) { $1 }))
        } catch {
            return .failure(error)
        }
    }

    @Test("the operator token comes from the environment or the secrets file, never tipline.yaml; operator_listen is HOST:PORT")
    func operatorSettings() throws {
        let token = "0123456789abcdef0123"
        let settings = try load(environment: ["TIPLINE_SERVER_OPERATOR_TOKEN": token, "TIPLINE_SERVER_OPERATOR_LISTEN": "[::1]:9091",
                                              "TIPLINE_SERVER_TRUSTED_PROXIES": "10.0.0.2, 10.0.0.3"]).get()
        #expect(settings.operatorToken == token)
        #expect(settings.operatorListen == Settings.ListenAddress(host: "::1", port: 9091))
        #expect(settings.trustedProxies == ["10.0.0.2", "10.0.0.3"])
        let defaults = try load(environment: [:]).get()
        #expect(defaults.operatorToken == nil && defaults.operatorListen == nil)
        #expect(defaults.trustedProxies == ["127.0.0.1", "::1"])

        let inFile = try load(environment: [:]) {
            $0.replacingOccurrences(of: "  max_body_bytes: 65536\n", with: "  max_body_bytes: 65536\n  operator_token: \(token)\n")
        }
        #expect(throws: ConfigError.self) { try inFile.get() }
        if case .failure(let error) = inFile { #expect(error.key == "server.operator_token" && error.problem.contains("secret")) }

        if case .failure(let error) = try load(environment: ["TIPLINE_SERVER_OPERATOR_TOKEN": "short"]) {
            #expect(error.key == "server.operator_token")
        } else {
            Issue.record("a short operator token was accepted")
        }
        if case .failure(let error) = try load(environment: ["TIPLINE_SERVER_OPERATOR_LISTEN": "127.0.0.1:8080"]) {
            #expect(error.key == "server.operator_listen")
        } else {
            Issue.record("an operator listener on the main port was accepted")
        }

        let secrets = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-secrets-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: secrets) }
        try "server:\n  operator_token: \(token)\n".write(to: secrets, atomically: true, encoding: .utf8)
        let fromSecrets = try load(environment: ["TIPLINE_SECRETS_FILE": secrets.path]).get()
        #expect(fromSecrets.operatorToken == token)
    }
}
