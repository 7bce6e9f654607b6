import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

/// Sign-in, lock-out, CSRF and the admins' access page, through the real router.
@Suite("Web sign-in and access")
struct WebAccessTests {
    /// Signs in through the form (double-submit CSRF cookie), returning the session cookie, or the failed response's body.
    static func signIn(_ client: any TestClientProtocol, _ name: String, _ password: String) async throws -> (cookie: String?, body: String) {
        let form = try await client.execute(uri: "/login", method: .get)
        let html = String(buffer: form.body)
        let csrf = try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)?.1)
        let loginCookie = try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        let body = "csrf=\(csrf)&next=%2F&name=\(name)&password=\(password.replacingOccurrences(of: " ", with: "+"))"
        let response = try await client.execute(uri: "/login", method: .post,
                                                headers: [.contentType: "application/x-www-form-urlencoded", .cookie: loginCookie],
                                                body: ByteBuffer(string: body))
        let session = response.headers[values: .setCookie].first { $0.hasPrefix("tipline_session=") }
        return (session?.split(separator: ";").first.map(String.init), String(buffer: response.body))
    }

    static func csrf(in html: String) -> String? {
        html.firstMatch(of: /name="csrf" value="([^"]+)"/).map { String($0.1) }
    }

    @Test("an admin makes a token on the access page and it works on the API; others are refused; forms need the CSRF token")
    func adminAccessPage() async throws {
        let s = try Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.runtime.database.insertUser(name: "root", role: .admin, officerID: nil, passwordHash: try StaffAuth.hash(password: "admin password 1"), now: Date())
        try await s.runtime.database.insertUser(name: "desk", role: .hotline, officerID: nil, passwordHash: try StaffAuth.hash(password: "desk password 1"), now: Date())
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

    @Test("five wrong passwords lock the account; the right one is then refused until unlocked")
    func lockOut() async throws {
        let s = try Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.runtime.database.insertUser(name: "desk", role: .hotline, officerID: nil, passwordHash: try StaffAuth.hash(password: "desk password 1"), now: Date())
        try await s.live { client in
            for _ in 0..<5 {
                let attempt = try await Self.signIn(client, "desk", "wrong")
                #expect(attempt.cookie == nil)
            }
            let locked = try await Self.signIn(client, "desk", "desk password 1")
            #expect(locked.cookie == nil)
            #expect(locked.body.contains("Locked after repeated failures"))
            _ = try await s.runtime.database.unlockUser(name: "desk")
            #expect(try await Self.signIn(client, "desk", "desk password 1").cookie != nil)
            #expect(try await Self.signIn(client, "nobody", "whatever").body.contains("Wrong name or password"))
        }
    }

    @Test("pages need a session; the session cookie is HttpOnly and SameSite=Strict; sign-out ends it")
    func sessions() async throws {
        let s = try Scenario(at: "2026-11-29T10:00:00+07:00")
        defer { s.remove() }
        try await s.runtime.database.insertUser(name: "desk", role: .hotline, officerID: nil, passwordHash: try StaffAuth.hash(password: "desk password 1"), now: Date())
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
