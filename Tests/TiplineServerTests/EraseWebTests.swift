import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

/// Erasure on request from the admin pages: a preview first, then the erasure, audited; admins only.
@Suite("Erase on the admin page")
struct EraseWebTests {
    @Test("preview changes nothing; erase now forgets the reporter and is audited; other roles are refused")
    func eraseByPhone() async throws {
        var scenario = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { scenario.remove() }
        _ = try await scenario.sms("+84900000951", "TRE Lan 14t nu xa Lung Cu di HCM")
        let s = scenario
        try await s.addUser("root", role: .admin, password: "admin password 1")
        try await s.addUser("desk", password: "desk password 1")
        try await s.live { client in
            let admin = try #require(try await WebAccessTests.signIn(client, "root", "admin password 1").cookie)
            func post(_ fields: String) async throws -> TestResponse {
                let page = try await client.execute(uri: "/admin/erase", method: .get, headers: [.cookie: admin])
                let csrf = try #require(WebAccessTests.csrf(in: String(buffer: page.body)))
                return try await client.execute(uri: "/admin/erase", method: .post, headers: [.cookie: admin, .contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: "csrf=\(csrf)&\(fields)"))
            }
            let preview = try await post("phone=0900000951&report=")
            #expect(String(buffer: preview.body).contains("Would erase"), "\(String(buffer: preview.body))")
            #expect(try await s.report(1001).reporter == "+84900000951", "a preview changes nothing")
            let done = try await post("phone=0900000951&report=&confirm=yes")
            #expect(String(buffer: done.body).contains("Erased"))
            let erased = try await s.report(1001)
            #expect(erased.reporter == nil && erased.parsed.child.name == nil)
            #expect(try await s.runtime.database.auditLog(limit: 20).contains { $0.action == "erase_phone" && $0.actor == "root" && $0.target == "+8490****951" })
            #expect(try await post("phone=x&report=").status == .badRequest)
            let desk = try #require(try await WebAccessTests.signIn(client, "desk", "desk password 1").cookie)
            #expect(try await client.execute(uri: "/admin/erase", method: .get, headers: [.cookie: desk]).status == .forbidden)
        }
    }
}
