import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

extension Scenario {
    /// New password hashes at the testing cost, so a sign-in takes milliseconds (N = 2^17 takes seconds in a debug build).
    func useTestingPasswordCost() {
        var deployment = runtime.deployment.current
        deployment.settings.passwordCost = .testing
        runtime.deployment.replace(deployment)
    }

    /// An account with its password hashed at the testing cost (and the runtime told to keep that cost).
    func addUser(_ name: String, role: StaffIdentity.Role = .hotline, officer: String? = nil, password: String) async throws {
        useTestingPasswordCost()
        try await runtime.database.insertUser(name: name, role: role, officerID: officer,
                                              passwordHash: try StaffAuth.hash(password: password, cost: .testing), now: clock.read())
    }
}

/// Sign-in, its throttle, CSRF and the admins' access page, through the real router.
@Suite("Web sign-in and access")
struct WebAccessTests {
    /// What one sign-in attempt got back.
    struct SignInAttempt {
        let status: HTTPResponse.Status
        /// The session cookie (`tipline_session=…`), when signed in.
        let cookie: String?
        let location: String?
        let body: String
    }

    /// `application/x-www-form-urlencoded` for one value: everything but unreserved ASCII escaped.
    static func formEncode(_ value: String) -> String {
        let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
        return value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// Signs in through the form (double-submit CSRF cookie), from `address` as a trusted proxy would name it.
    static func attempt(_ client: any TestClientProtocol, _ name: String, _ password: String, next: String = "/",
                        from address: String? = nil) async throws -> SignInAttempt {
        let form = try await client.execute(uri: "/login", method: .get)
        let html = String(buffer: form.body)
        let csrf = try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let loginCookie = try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        let body = "csrf=\(csrf)&next=\(formEncode(next))&name=\(formEncode(name))&password=\(formEncode(password))"
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: loginCookie]
        if let address { headers[.xForwardedFor] = address }
        let response = try await client.execute(uri: "/login", method: .post, headers: headers, body: ByteBuffer(string: body))
        let session = response.headers[values: .setCookie].first { $0.hasPrefix("tipline_session=") }
        return SignInAttempt(status: response.status, cookie: session?.split(separator: ";").first.map(String.init),
                             location: response.headers[.location], body: String(buffer: response.body))
    }

    /// Signs in through the form, returning the session cookie, or the failed response's body.
    static func signIn(_ client: any TestClientProtocol, _ name: String, _ password: String) async throws -> (cookie: String?, body: String) {
        let attempt = try await attempt(client, name, password)
        return (attempt.cookie, attempt.body)
    }

    static func csrf(in html: String) -> String? {
        html.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) }
    }

    /// Posts an admin form of the access page (`path` under `/admin/access/`) with the page's CSRF token.
    static func postAccessForm(_ client: any TestClientProtocol, cookie: String, _ path: String, _ fields: String) async throws -> TestResponse {
        let page = try await client.execute(uri: "/admin/access", method: .get, headers: [.cookie: cookie])
        let csrf = try #require(Self.csrf(in: String(buffer: page.body)), "access page: \(page.status) \(String(buffer: page.body).prefix(300))")
        return try await client.execute(uri: "/admin/access/\(path)", method: .post,
                                        headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                        body: ByteBuffer(string: "csrf=\(csrf)&\(fields)"))
    }

    @Test("an admin makes a token on the access page and it works on the API; others are refused; forms need the CSRF token")
    func adminAccessPage() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("root", role: .admin, password: "admin password 1")
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            let admin = try #require(try await Self.signIn(client, "root", "admin password 1").cookie)
            let page = try await client.execute(uri: "/admin/access", method: .get, headers: [.cookie: admin])
            #expect(page.status == .ok)
            let csrf = try #require(Self.csrf(in: String(buffer: page.body)))
            let created = try await client.execute(uri: "/admin/access/tokens", method: .post,
                                                   headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                                                   body: ByteBuffer(string: "csrf=\(csrf)&name=case+system&role=hotline&officer="))
            let token = try #require(String(buffer: created.body).firstMatch(of: /<code>(tl_[A-Za-z0-9_-]+)<\/code>/)?.1)
            #expect(try await client.execute(uri: "/api/v1/reports", method: .get, headers: [.authorization: "Bearer \(token)"]).status == .ok)
            let forged = try await client.execute(uri: "/admin/access/tokens", method: .post,
                                                  headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                                                  body: ByteBuffer(string: "name=evil&role=admin"))
            #expect(forged.status == .forbidden, "no CSRF token")
            let badRole = try await client.execute(uri: "/admin/access/tokens", method: .post,
                                                   headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                                                   body: ByteBuffer(string: "csrf=\(csrf)&name=x&role=officer&officer=nobody"))
            #expect(badRole.status == .badRequest)
            let desk = try #require(try await Self.signIn(client, "desk", "desk password 1").cookie)
            #expect(try await client.execute(uri: "/admin/access", method: .get, headers: [.cookie: desk]).status == .forbidden)
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: desk]).status == .ok)
            let audit = try await s.runtime.database.auditLog(limit: 10)
            #expect(audit.contains { $0.action == "token_create" && $0.actor == "root" })
        }
    }

    @Test("three wrong passwords make the account wait: the right one is refused, then accepted after the wait; a success resets the count; each further failure doubles the wait")
    func throttling() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            for _ in 0..<3 { #expect(try await Self.signIn(client, "desk", "wrong password").cookie == nil) }
            let waiting = try await Self.attempt(client, "desk", "desk password 1")
            #expect(waiting.cookie == nil, "refused unchecked while the account waits")
            #expect(waiting.status == .unauthorized)
            #expect(waiting.body.contains("Wrong name or password, or too many tries: wait and try again"))
            s.clock.advance(minutes: 1)
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil, "the 30 s wait is over")

            // The success reset the count: two failures leave no wait.
            for _ in 0..<2 { _ = try await Self.signIn(client, "desk", "wrong password") }
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil)

            // Third failure: 30 s; fourth: a minute.
            for _ in 0..<3 { _ = try await Self.signIn(client, "desk", "wrong password") }
            s.clock.advance(minutes: 1)
            _ = try await Self.signIn(client, "desk", "wrong password")
            s.clock.advance(minutes: 0.75)
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie == nil, "45 s into a one-minute wait")
            s.clock.advance(minutes: 0.5)
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil)
        }
    }

    @Test("failures are forgotten after a quiet hour; tipline user unlock clears the wait at once")
    func forgettingAndUnlock() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            for _ in 0..<3 { _ = try await Self.signIn(client, "desk", "wrong password") }
            s.clock.advance(minutes: 61)
            // Counted from the 3 before, these would be the 4th and 5th failures, and the 5th attempt would wait a minute.
            for _ in 0..<2 { _ = try await Self.signIn(client, "desk", "wrong password") }
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil)

            for _ in 0..<3 { _ = try await Self.signIn(client, "desk", "wrong password") }
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie == nil)
            #expect(try await s.runtime.database.unlockUser(name: "desk") == 1)
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil)
            #expect(try await s.runtime.database.unlockUser(name: "nobody") == 0)
        }
    }

    @Test("pages need a session; the session cookie is HttpOnly and SameSite=Strict; sign-out ends it")
    func sessions() async throws {
        let s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            let anonymous = try await client.execute(uri: "/reports/1001", method: .get)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login?next=%2Freports%2F1001")
            let form = try await client.execute(uri: "/login", method: .get)
            let csrf = try #require(Self.csrf(in: String(buffer: form.body)))
            let response = try await client.execute(uri: "/login", method: .post,
                                                    headers: [.contentType: "application/x-www-form-urlencoded",
                                                              .cookie: try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))],
                                                    body: ByteBuffer(string: "csrf=\(csrf)&name=desk&password=desk+password+1&next=%2F"))
            let setCookie = try #require(response.headers[values: .setCookie].first { $0.hasPrefix("tipline_session=") })
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
            #expect(!setCookie.contains("Secure"), "not behind TLS in the sample config")
            let cookie = String(setCookie.split(separator: ";").first!)
            let log = try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie])
            let pageCSRF = try #require(Self.csrf(in: String(buffer: log.body)))
            _ = try await client.execute(uri: "/logout", method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                         body: ByteBuffer(string: "csrf=\(pageCSRF)"))
            #expect(try await client.execute(uri: "/", method: .get, headers: [.cookie: cookie]).status == .seeOther)
        }
    }
}
