import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

/// Every read of report data leaves exactly one audit entry, and the audit log holds no child's detail — through the
/// real router, as staff and case systems use it.
@Suite("Audit log")
struct AuditTests {
    /// A child's name no other text in the sample deployment has, and the reporter's number: neither may reach the audit log.
    static let childName = "Thoaimy"
    static let reporterPhone = "+84912345678"
    static let token = "tl_audit_test_token"

    /// The sample deployment with one report (1001) about ``childName`` from ``reporterPhone``, a hotline account `desk`,
    /// an admin `root`, and a hotline token `case system`.
    static func scenario() async throws -> Scenario {
        var s = try await Scenario(at: "2026-11-29T10:00:00+07:00")
        _ = try await s.sms(reporterPhone, "TRE \(childName) 14t nu xa Lung Cu di HCM")
        try await s.addUser("desk", password: "desk password 1")
        try await s.addUser("root", role: .admin, password: "admin password 1")
        _ = try await s.runtime.database.insertToken(name: "case system", role: .hotline, officerID: nil,
                                                     hash: StaffAuth.hash(token: token), now: s.clock.read())
        return s
    }

    /// The newest entry's id (0 when the log is empty).
    static func lastID(_ s: Scenario) async throws -> Int64 {
        try await s.runtime.database.auditLog(limit: 1).first?.id ?? 0
    }

    /// The entries written after `id`, oldest first.
    static func entries(after id: Int64, _ s: Scenario) async throws -> [AuditEntry] {
        try await s.runtime.database.auditLog(limit: 1000).filter { $0.id > id }.reversed()
    }

    /// Runs `request` and returns the one audit entry it wrote (a test failure when it wrote none or several).
    static func onlyEntry<Answer>(_ s: Scenario, _ what: String, _ request: () async throws -> Answer) async throws -> (Answer, AuditEntry) {
        let before = try await lastID(s)
        let response = try await request()
        let written = try await entries(after: before, s)
        #expect(written.count == 1, "\(what): \(written.map(\.action))")
        return (response, try #require(written.first, "\(what) wrote no audit entry"))
    }

    /// Whether an entry's text holds anything of the child or the reporter.
    static func leaks(_ entry: AuditEntry) -> Bool {
        let text = [entry.actor, entry.target ?? "", entry.detail ?? ""].joined(separator: " ").lowercased()
        return text.contains(childName.lowercased()) || text.contains("912345678") || text.contains("lung cu")
            || text.contains("called the reporter")
    }

    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
    }

    /// Data rows of a CSV export (the header line left out).
    static func csvRows(_ response: TestResponse) -> Int {
        String(buffer: response.body).split(separator: "\r\n").count - 1
    }

    @Test("each list, search and export on the API and the web log leaves one entry: filters kept, search text redacted, rows counted")
    func listsAndExports() async throws {
        let s = try await Self.scenario()
        defer { s.remove() }
        try await s.live { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            // The API: a search by the child's name, one by the reporter's number, an export.
            let (byName, nameEntry) = try await Self.onlyEntry(s, "API search") {
                try await client.execute(uri: "/api/v1/reports?q=\(Self.childName)&status=open&limit=10", method: .get, headers: bearer)
            }
            #expect(byName.status == .ok)
            #expect((try Self.json(byName)["reports"] as? [Any])?.count == 1)
            #expect(nameEntry.action == "list_reports" && nameEntry.actor == "case system" && nameEntry.role == "hotline")
            #expect(nameEntry.detail == "rows=1; via=api; status=open; q=<redacted, 7 chars>; limit=10", "\(nameEntry.detail ?? "")")

            let (byPhone, phoneEntry) = try await Self.onlyEntry(s, "API search by phone") {
                try await client.execute(uri: "/api/v1/reports?q=\(WebAccessTests.formEncode(Self.reporterPhone))", method: .get, headers: bearer)
            }
            let phoneRows = try #require((try Self.json(byPhone)["reports"] as? [Any])?.count)
            #expect(phoneEntry.detail?.hasPrefix("rows=\(phoneRows); via=api;") == true, "\(phoneEntry.detail ?? "")")
            #expect(phoneEntry.detail?.contains("q=<redacted, 12 chars>") == true)

            let (csv, csvEntry) = try await Self.onlyEntry(s, "API CSV") {
                try await client.execute(uri: "/api/v1/reports.csv?q=\(Self.childName)&since=24h&channel=simulator", method: .get, headers: bearer)
            }
            #expect(csv.status == .ok && Self.csvRows(csv) == 1)
            #expect(csvEntry.action == "export_csv" && csvEntry.actor == "case system")
            #expect(csvEntry.detail == "rows=1; via=api; channel=simulator; since=24h; q=<redacted, 7 chars>; limit=10000", "\(csvEntry.detail ?? "")")

            let (_, unknownChannel) = try await Self.onlyEntry(s, "API list, a channel nobody configured") {
                try await client.execute(uri: "/api/v1/reports?channel=\(Self.childName)", method: .get, headers: bearer)
            }
            #expect(unknownChannel.detail == "rows=0; via=api; channel=<unknown, 7 chars>; limit=50", "\(unknownChannel.detail ?? "")")

            // A refused filter reads nothing and writes nothing.
            let before = try await Self.lastID(s)
            #expect(try await client.execute(uri: "/api/v1/reports?status=\(Self.childName)", method: .get, headers: bearer).status == .badRequest)
            #expect(try await Self.entries(after: before, s).isEmpty)

            // The web log and its export.
            let desk = try #require(try await WebAccessTests.signIn(client, "desk", "desk password 1").cookie)
            let (log, logEntry) = try await Self.onlyEntry(s, "web log") {
                try await client.execute(uri: "/?q=\(Self.childName)&status=open", method: .get, headers: [.cookie: desk])
            }
            #expect(log.status == .ok)
            #expect(String(buffer: log.body).components(separatedBy: "data-number=\"").count - 1 == 1)
            #expect(logEntry.action == "list_reports" && logEntry.actor == "desk" && logEntry.role == "hotline")
            #expect(logEntry.detail == "rows=1; via=web; status=open; q=<redacted, 7 chars>; limit=200", "\(logEntry.detail ?? "")")

            let (plainLog, plainEntry) = try await Self.onlyEntry(s, "web log, no filter") {
                try await client.execute(uri: "/", method: .get, headers: [.cookie: desk])
            }
            #expect(plainEntry.detail == "rows=\(String(buffer: plainLog.body).components(separatedBy: "data-number=\"").count - 1); via=web; limit=200")

            let (refused, refusedEntry) = try await Self.onlyEntry(s, "web log, a bad filter") {
                try await client.execute(uri: "/?since=\(Self.childName)&q=\(Self.childName)", method: .get, headers: [.cookie: desk])
            }
            #expect(refused.status == .badRequest)
            #expect(refusedEntry.detail?.contains("filters=refused") == true && refusedEntry.detail?.contains("q=") == false)

            let (webCSV, webCSVEntry) = try await Self.onlyEntry(s, "web CSV") {
                try await client.execute(uri: "/reports.csv?q=\(Self.childName)", method: .get, headers: [.cookie: desk])
            }
            #expect(webCSV.status == .ok && Self.csvRows(webCSV) == 1)
            #expect(webCSVEntry.action == "export_csv" && webCSVEntry.actor == "desk")
            #expect(webCSVEntry.detail == "rows=1; via=web; q=<redacted, 7 chars>; limit=10000", "\(webCSVEntry.detail ?? "")")

            let all = try await Self.entries(after: 0, s)
            #expect(!all.contains(where: Self.leaks), "\(all.filter(Self.leaks))")
        }
    }

    @Test("a report's page and the API's report, the duty board on both, and the phone page each leave exactly one entry")
    func pagesThatShowReports() async throws {
        let s = try await Self.scenario()
        defer { s.remove() }
        try await s.live { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            let desk = try #require(try await WebAccessTests.signIn(client, "desk", "desk password 1").cookie)

            let (page, pageEntry) = try await Self.onlyEntry(s, "report page") {
                try await client.execute(uri: "/reports/1001", method: .get, headers: [.cookie: desk])
            }
            #expect(page.status == .ok && String(buffer: page.body).contains(Self.childName), "the page itself shows the child")
            #expect(pageEntry.action == "view_report" && pageEntry.target == "1001" && pageEntry.actor == "desk" && pageEntry.detail == "web")

            let (shown, shownEntry) = try await Self.onlyEntry(s, "API report") {
                try await client.execute(uri: "/api/v1/reports/1001", method: .get, headers: bearer)
            }
            #expect(shown.status == .ok)
            #expect(shownEntry.action == "view_report" && shownEntry.target == "1001" && shownEntry.actor == "case system")

            let (duty, dutyEntry) = try await Self.onlyEntry(s, "duty page") {
                try await client.execute(uri: "/duty", method: .get, headers: [.cookie: desk])
            }
            #expect(duty.status == .ok && dutyEntry.action == "view_duty" && dutyEntry.actor == "desk" && dutyEntry.detail == "web")

            let (apiDuty, apiDutyEntry) = try await Self.onlyEntry(s, "API duty") {
                try await client.execute(uri: "/api/v1/duty", method: .get, headers: bearer)
            }
            #expect(apiDuty.status == .ok && apiDutyEntry.action == "view_duty" && apiDutyEntry.actor == "case system")

            let (phone, phoneEntry) = try await Self.onlyEntry(s, "phone page") {
                try await client.execute(uri: "/phone", method: .get, headers: [.cookie: desk])
            }
            #expect(phone.status == .ok && phoneEntry.action == "view_phone" && phoneEntry.actor == "desk")
            #expect(phoneEntry.detail?.hasSuffix("messages (web)") == true)

            // A note with the child's name in it goes to the timeline, not the audit log.
            let note = try await client.execute(uri: "/api/v1/reports/1001/notes", method: .post,
                                                headers: [.authorization: "Bearer \(Self.token)", .contentType: "application/json"],
                                                body: ByteBuffer(string: #"{"text": "called the reporter about \#(Self.childName)"}"#))
            #expect(note.status == .ok)
            _ = try await client.execute(uri: "/reports/1001", method: .get, headers: [.cookie: desk])

            let all = try await Self.entries(after: 0, s)
            #expect(!all.contains(where: Self.leaks), "\(all.filter(Self.leaks))")
        }
    }

    @Test("a failed sign-in is one anonymous entry with the client's network and whether it waited, never the name typed")
    func failedSignIns() async throws {
        let s = try await Self.scenario()
        defer { s.remove() }
        try await s.live { client in
            let (attempt, unknown) = try await Self.onlyEntry(s, "unknown name") {
                try await WebAccessTests.attempt(client, "\(Self.childName) Nguyen", "some password 1", from: "203.0.113.9")
            }
            #expect(attempt.status == .unauthorized)
            #expect(unknown.actor == "anonymous" && unknown.action == "sign_in_failed" && unknown.target == nil)
            #expect(unknown.detail == "address=203.0.113.0/24; throttled=no", "\(unknown.detail ?? "")")

            // Two more wrong passwords for desk make it wait (three free failures); the next try is refused unchecked.
            for _ in 0..<3 {
                let (_, wrong) = try await Self.onlyEntry(s, "wrong password") {
                    try await WebAccessTests.attempt(client, "desk", "wrong password 1", from: "2001:db8:1234:5678::1")
                }
                #expect(wrong.detail == "address=2001:db8:1234::/48; throttled=no", "\(wrong.detail ?? "")")
            }
            let (refused, waiting) = try await Self.onlyEntry(s, "throttled") {
                try await WebAccessTests.attempt(client, "desk", "desk password 1", from: "2001:db8:1234:5678::1")
            }
            #expect(refused.cookie == nil, "the right password, refused unchecked while the account waits")
            #expect(waiting.detail == "address=2001:db8:1234::/48; throttled=yes", "\(waiting.detail ?? "")")

            s.clock.advance(minutes: 1)
            let (signedIn, success) = try await Self.onlyEntry(s, "sign-in") {
                try await WebAccessTests.attempt(client, "desk", "desk password 1")
            }
            #expect(signedIn.cookie != nil)
            #expect(success.action == "sign_in" && success.actor == "desk")

            let all = try await Self.entries(after: 0, s)
            #expect(all.filter { $0.action == "sign_in_failed" }.count == 5)
            #expect(!all.contains { ($0.detail ?? "").contains("desk") || $0.actor.lowercased().contains(Self.childName.lowercased()) })
        }
    }

    @Test("client addresses are kept to their network", arguments: [
        ("203.0.113.9", "203.0.113.0/24"), ("2001:db8:1234:5678::1", "2001:db8:1234::/48"), ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("2001:0DB8:00AB:0001:0000:0000:0000:0001", "2001:db8:ab::/48"), ("fe80::1%eth0", "fe80:0:0::/48"), ("::1", "0:0:0::/48"),
        ("unknown", "unknown"), ("1.2.3", "unknown"), ("1:2:3:4:5:6:7:8:9", "unknown"), ("2001:db8::1::2", "unknown"),
    ])
    func maskedAddresses(address: String, masked: String) {
        #expect(WebController.maskedAddress(address) == masked)
    }

    @Test("a token records when it was last used, at most once a minute; the access page shows it")
    func tokenLastUsed() async throws {
        let s = try await Self.scenario()
        defer { s.remove() }
        @Sendable func lastUsed() async throws -> Date? {
            try await s.runtime.database.tokens().first { $0.name == "case system" }?.lastUsedAt
        }
        #expect(try await lastUsed() == nil)
        try await s.live { client in
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.token)"]
            let start = s.clock.read()
            #expect(try await client.execute(uri: "/api/v1/duty", method: .get, headers: bearer).status == .ok)
            let first = try #require(try await lastUsed())
            #expect(abs(first.timeIntervalSince(start)) < 1)
            s.clock.advance(minutes: 0.5)
            _ = try await client.execute(uri: "/api/v1/duty", method: .get, headers: bearer)
            #expect(try await lastUsed() == first, "not written again within the minute")
            s.clock.advance(minutes: 1)
            _ = try await client.execute(uri: "/api/v1/duty", method: .get, headers: bearer)
            let second = try #require(try await lastUsed())
            #expect(abs(second.timeIntervalSince(s.clock.read())) < 1)
            #expect(try await client.execute(uri: "/api/v1/duty", method: .get, headers: [.authorization: "Bearer tl_wrong"]).status == .unauthorized)

            let root = try #require(try await WebAccessTests.signIn(client, "root", "admin password 1").cookie)
            let access = String(buffer: try await client.execute(uri: "/admin/access", method: .get, headers: [.cookie: root]).body)
            #expect(access.contains("Last used"))
            #expect(access.contains("29/11/2026 10:01"), "the token's last use, in the deployment's time zone")
        }
    }

    @Test("the admin audit page filters by time, actor and action, a page at a time; others are refused")
    func adminAuditPage() async throws {
        let s = try await Self.scenario()
        defer { s.remove() }
        let database = s.runtime.database
        for index in 0..<150 {
            try await database.audit(actor: "bulk", role: "hotline", action: index.isMultiple(of: 2) ? "view_report" : "view_duty",
                                     target: "\(1001 + index)", detail: nil, now: s.clock.read().addingTimeInterval(-7200))
        }
        try await database.audit(actor: "bulk", role: "hotline", action: "view_report", target: "recent", detail: nil, now: s.clock.read())
        try await s.live { client in
            let root = try #require(try await WebAccessTests.signIn(client, "root", "admin password 1").cookie)
            let desk = try #require(try await WebAccessTests.signIn(client, "desk", "desk password 1").cookie)
            #expect(try await client.execute(uri: "/admin/audit", method: .get, headers: [.cookie: desk]).status == .forbidden)

            func rows(_ uri: String) async throws -> (status: HTTPResponse.Status, rows: Int, html: String) {
                let response = try await client.execute(uri: uri, method: .get, headers: [.cookie: root])
                let html = String(buffer: response.body)
                return (response.status, html.components(separatedBy: "<tr data-id=\"").count - 1, html)
            }
            let first = try await rows("/admin/audit?actor=bulk")
            #expect(first.status == .ok && first.rows == 100)
            let older = try #require(first.html.firstMatch(of: /href="\/admin\/audit\?([^"]+)" id="older"/)?.1)
            #expect(older.hasPrefix("actor=bulk&amp;before="))
            let second = try await rows("/admin/audit?" + older.replacingOccurrences(of: "&amp;", with: "&"))
            #expect(second.rows == 51 && !second.html.contains("id=\"older\"") && second.html.contains("id=\"newest\""))

            #expect(try await rows("/admin/audit?actor=bulk&action=view_duty").rows == 75)
            #expect(try await rows("/admin/audit?actor=bulk&since=1h").rows == 1)
            #expect(try await rows("/admin/audit?actor=bulk&since=1h&action=view_duty").rows == 0)
            #expect(try await rows("/admin/audit?since=soon").status == .badRequest)
            let signIns = try await rows("/admin/audit?actor=desk&action=sign_in")
            #expect(signIns.rows == 1)
            #expect(signIns.html.contains(#"name="actor" id="actor" value="desk""#), "the form keeps the filters asked for")
        }
        #expect(try await database.auditLog(AuditQuery(actor: "bulk", action: "view_report", limit: 500)).count == 76)
        #expect(try await database.auditLog(AuditQuery(since: s.clock.read().addingTimeInterval(-60), actor: "bulk")).count == 1)
    }
}
