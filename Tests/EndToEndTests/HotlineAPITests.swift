import CurlHTTP
import Foundation
import GRDB
import Testing
import TiplineCore
import TiplineProviders
@testable import TiplineServer
import TiplineStore

/// The hotline API over real HTTP: every route, filter, role and error.
@Suite("Hotline API")
struct HotlineAPITests {
    let client = CurlClient()

    struct Fixture {
        let runtime: TiplineRuntime
        let port: Int
        let hotline: String
        let officer: String
        let admin: String
        let client: CurlClient

        func get(_ path: String, token: String?) async throws -> CurlResponse {
            try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)\(path)",
                                                 headers: token.map { [("Authorization", "Bearer \($0)")] } ?? []))
        }

        func post(_ path: String, token: String, json: String = "") async throws -> CurlResponse {
            try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)\(path)",
                                                 headers: [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")],
                                                 body: Array(json.utf8)))
        }

        func object(_ response: CurlResponse) throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any], "\(response.bodyText)")
        }

        func numbers(_ response: CurlResponse) throws -> [Int] {
            (try object(response)["reports"] as? [[String: Any]] ?? []).compactMap { $0["number"] as? Int }
        }
    }

    /// Five reports: 1001 Lũng Cú (Tuyên Quang), 1002 Mèo Vạc alert, 1003 Thuận An (Huế), 1004 unknown, 1005 Lũng Cú with diacritics.
    func withFixture(_ body: (Fixture) async throws -> Void) async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            let hotline = StaffAuth.newToken(), officer = StaffAuth.newToken(), admin = StaffAuth.newToken()
            _ = try await runtime.database.insertToken(name: "Desk A", role: .hotline, officerID: nil, hash: StaffAuth.hash(token: hotline), now: Date())
            _ = try await runtime.database.insertToken(name: "Lung Cu police", role: .officer, officerID: "lungcu-police",
                                                       hash: StaffAuth.hash(token: officer), now: Date())
            _ = try await runtime.database.insertToken(name: "Admin", role: .admin, officerID: nil, hash: StaffAuth.hash(token: admin), now: Date())
            try await runTipline(runtime) { port in
                for (index, (from, text)) in [
                    ("+84912345678", "TRE Lan 14t nu xa Lung Cu di HCM"),
                    ("+84912345679", "KHAN be gai 12t xa Meo Vac dang bi dua sang TQ"),
                    ("+84912345680", "TRE Hoa 16t nu phuong Thuan An di Ha Noi"),
                    ("+84912345681", "alo alo"),
                    ("+84912345682", "TRE Giàng Thị Mai 13 tuổi nữ xã Lũng Cú đi Trung Quốc"),
                ].enumerated() {
                    _ = try await postSMS(client, port: port, sid: "SM-api-\(index)", from: from, body: text)
                }
                try await body(Fixture(runtime: runtime, port: port, hotline: hotline, officer: officer, admin: admin, client: client))
            }
        }
    }

    @Test("list: newest first, filters, limit and cursor")
    func listAndFilters() async throws {
        try await withFixture { f in
            #expect(try f.numbers(try await f.get("/api/v1/reports", token: f.hotline)) == [1005, 1004, 1003, 1002, 1001])
            #expect(try f.numbers(try await f.get("/api/v1/reports?kind=alert", token: f.hotline)) == [1002])
            #expect(try f.numbers(try await f.get("/api/v1/reports?urgent=true", token: f.hotline)) == [1005, 1002])
            #expect(try f.numbers(try await f.get("/api/v1/reports?area=715", token: f.hotline)) == [1005, 1001])
            #expect(try f.numbers(try await f.get("/api/v1/reports?area=46", token: f.hotline)) == [1003], "a province code")
            #expect(try f.numbers(try await f.get("/api/v1/reports?q=giang%20thi", token: f.hotline)) == [1005], "diacritic-insensitive")
            #expect(try f.numbers(try await f.get("/api/v1/reports?status=open&kind=unknown", token: f.hotline)) == [1004])
            #expect(try f.numbers(try await f.get("/api/v1/reports?channel=sms&since=1h", token: f.hotline)).count == 5)
            #expect(try f.numbers(try await f.get("/api/v1/reports?until=2020-01-01", token: f.hotline)) == [])
            let page1 = try await f.get("/api/v1/reports?limit=2", token: f.hotline)
            #expect(try f.numbers(page1) == [1005, 1004])
            let cursor = try #require(try f.object(page1)["next_cursor"] as? String)
            let page2 = try await f.get("/api/v1/reports?limit=2&cursor=\(FormBody.escape(cursor))", token: f.hotline)
            #expect(try f.numbers(page2) == [1003, 1002])
            let page3 = try await f.get("/api/v1/reports?limit=2&cursor=\(FormBody.escape(try #require(try f.object(page2)["next_cursor"] as? String)))", token: f.hotline)
            #expect(try f.numbers(page3) == [1001])
            #expect(try f.object(page3)["next_cursor"] is NSNull)
            let first = try #require((try f.object(try await f.get("/api/v1/reports?limit=1", token: f.hotline))["reports"] as? [[String: Any]])?.first)
            for key in ["number", "status", "received_at", "channel", "reporter", "assigned_to", "text", "child", "origin", "destination", "left_on", "companion", "missing", "kind", "urgent"] {
                #expect(first.keys.contains(key), "field \(key)")
            }
        }
    }

    @Test("bad filters are 400 naming the parameter; tokens 401; roles and areas 403; unknown report 404 — all JSON")
    func errors() async throws {
        try await withFixture { f in
            for (query, parameter) in [("limit=0", "limit"), ("limit=501", "limit"), ("urgent=maybe", "urgent"), ("status=lost", "status"),
                                       ("kind=x", "kind"), ("since=yesterday", "since"), ("cursor=zzz", "cursor"), ("area=abc", "area"), ("colour=red", "colour")] {
                let response = try await f.get("/api/v1/reports?\(query)", token: f.hotline)
                #expect(response.status == 400, "\(query)")
                #expect((try f.object(response)["error"] as? String)?.hasPrefix(parameter) == true, "\(query): \(response.bodyText)")
            }
            let missing = try await f.get("/api/v1/reports", token: nil)
            #expect(missing.status == 401)
            #expect(try f.object(missing)["error"] != nil)
            #expect(try await f.get("/api/v1/reports", token: "tl_forged").status == 401)
            _ = try await f.runtime.database.revokeToken("Admin", now: Date())
            #expect(try await f.get("/api/v1/reports", token: f.admin).status == 401, "revoked")
            #expect(try await f.get("/api/v1/reports/1003", token: f.officer).status == 403, "outside the officer's areas")
            #expect(try await f.get("/api/v1/reports?area=46", token: f.officer).status == 403)
            #expect(try await f.post("/api/v1/reports/1001/reassign", token: f.officer, json: #"{"officer": "meovac-social"}"#).status == 403)
            let unknown = try await f.get("/api/v1/reports/9999", token: f.hotline)
            #expect(unknown.status == 404)
            #expect(try f.object(unknown)["error"] as? String == "no report 9999")
            #expect(try await f.post("/api/v1/reports/1001/notes", token: f.hotline, json: "not json").status == 400)
            #expect(try await f.post("/api/v1/reports/1001/notes", token: f.hotline, json: #"{"text": ""}"#).status == 400)
            #expect(try await f.post("/api/v1/reports/1001/reassign", token: f.hotline, json: #"{"officer": "nobody"}"#).status == 400)
        }
    }

    @Test("officers see only their areas, with reporters' numbers masked; no response carries an unmasked number to them")
    func officerScopeAndMasking() async throws {
        try await withFixture { f in
            let list = try await f.get("/api/v1/reports", token: f.officer)
            #expect(try f.numbers(list) == [1005, 1001])
            #expect(list.bodyText.contains("+8491****678"))
            for response in [list, try await f.get("/api/v1/reports/1001", token: f.officer), try await f.get("/api/v1/reports.csv", token: f.officer),
                             try await f.get("/api/v1/duty", token: f.officer)] {
                for reporter in ["+84912345678", "+84912345682", "+84900000101"] {
                    #expect(!response.bodyText.contains(reporter), "\(reporter) unmasked in \(response.bodyText.prefix(200))")
                }
            }
            let hotline = try await f.get("/api/v1/reports/1001", token: f.hotline)
            #expect(try f.object(hotline)["reporter"] as? String == "+84912345678", "hotline staff see it")
        }
    }

    @Test("one report with its timeline; CSV with BOM; actions recorded with the staff name; duty; audit log")
    func detailCSVActionsDutyAudit() async throws {
        try await withFixture { f in
            let detail = try f.object(try await f.get("/api/v1/reports/1002", token: f.hotline))
            let timeline = try #require(detail["timeline"] as? [[String: Any]])
            #expect(timeline.first?["kind"] as? String == "received")
            #expect((detail["origin"] as? [String: Any])?["area_code"] as? String == "769")

            let csv = try await f.get("/api/v1/reports.csv?area=715", token: f.hotline)
            #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
            #expect(Array(csv.body.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(csv.bodyText.contains("Giàng Thị Mai"))
            #expect(csv.bodyText.split(separator: "\r\n").count == 3)

            let acked = try f.object(try await f.post("/api/v1/reports/1002/acknowledge", token: f.hotline))
            #expect(acked["status"] as? String == "acknowledged" && acked["assigned_to"] as? String == "Desk A")
            #expect(try await f.post("/api/v1/reports/1002/acknowledge", token: f.officer).status == 403, "Mèo Vạc is not the officer's")
            _ = try await f.post("/api/v1/reports/1002/notes", token: f.hotline, json: #"{"text": "called the commune police"}"#)
            let closed = try f.object(try await f.post("/api/v1/reports/1002/close", token: f.hotline, json: #"{"result": "child found at the border post"}"#))
            #expect(closed["status"] as? String == "closed")
            let events = try #require(closed["timeline"] as? [[String: Any]])
            #expect(events.contains { $0["kind"] as? String == "note" && $0["actor"] as? String == "Desk A" })
            #expect(try await f.post("/api/v1/reports/1002/close", token: f.hotline, json: #"{"result": "again"}"#).status == 409)
            let reassigned = try f.object(try await f.post("/api/v1/reports/1001/reassign", token: f.hotline, json: #"{"officer": "lungcu-womens-union"}"#))
            #expect(reassigned["assigned_to"] as? String == "lungcu-womens-union")

            let duty = try f.object(try await f.get("/api/v1/duty", token: f.hotline))
            #expect((duty["hotline"] as? [[String: Any]])?.first?["id"] as? String == "hotline-desk")
            #expect((duty["areas"] as? [[String: Any]])?.contains { $0["area_code"] as? String == "715" } == true)

            let audit = try await f.runtime.database.auditLog(limit: 50)
            #expect(audit.contains { $0.action == "view_report" && $0.target == "1002" && $0.actor == "Desk A" })
            #expect(audit.contains { $0.action == "export_csv" })
        }
    }

    @Test("the CSV export streams page by page past the API's page size, newest first, with one audit entry counting its rows")
    func exportStreamsPages() async throws {
        try await withFixture { f in
            try await f.runtime.database.write { store in
                for index in 0..<1_234 {
                    var parsed = ParsedMessage(kind: .tip)
                    parsed.child = .init(name: "Lan", age: 14, sex: .female)
                    parsed.origin = .init(areaCode: "715", areaName: "Xã Lũng Cú")
                    var report = Report(parsed: parsed, channel: "twilio", reporter: "+849123\(String(format: "%05d", index))",
                                        text: "TRE Lan 14t nu xa Lung Cu", receivedAt: Date(), provinceCode: "8")
                    try store.insert(&report)
                }
            }
            let before = try await f.runtime.database.auditLog(limit: 500).filter { $0.action == "export_csv" }.count
            let csv = try await f.get("/api/v1/reports.csv?limit=1300", token: f.hotline)
            #expect(csv.status == 200)
            let lines = csv.bodyText.split(separator: "\r\n")
            #expect(lines.count == 1 + 1_239)
            #expect(lines[1].hasPrefix("2239,") && lines.last?.hasPrefix("1001,") == true, "newest first, across pages, to the first report")
            #expect(Set(lines.dropFirst().map { $0.prefix(4) }).count == 1_239, "no row twice at a page boundary")
            let limited = try await f.get("/api/v1/reports.csv?limit=600", token: f.hotline)
            #expect(limited.bodyText.split(separator: "\r\n").count == 601)
            let audits = try await f.runtime.database.auditLog(limit: 500).filter { $0.action == "export_csv" }
            #expect(audits.count == before + 2, "one entry per export, not per page")
            #expect(audits.first?.detail?.contains("rows=600") == true && audits.dropFirst().first?.detail?.contains("rows=1239") == true)
            #expect(try await f.get("/api/v1/reports.csv?limit=100001", token: f.hotline).status == 400)
        }
    }

    @Test("the OpenAPI file is served, valid OpenAPI 3.1, and documents exactly the API's routes")
    func openAPI() async throws {
        try await withFixture { f in
            let response = try await f.get("/api/v1/openapi.yaml", token: nil)
            #expect(response.status == 200)
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).yaml")
            try Data(response.body).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let validator = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", """
                import sys, yaml
                from openapi_spec_validator import validate
                spec = yaml.safe_load(open(sys.argv[1]))
                validate(spec)
                print("\\n".join(sorted(f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m in ops)))
                """, file.path])
            let text = validator.output
            #expect(validator.status == 0, "\(text)")
            let documented = Set(text.split(separator: "\n").map(String.init))
            let routes = Set(buildRouter(f.runtime).routes.compactMap { route -> String? in
                let path = route.path.description
                guard path.hasPrefix("/api/v1/"), path != "/api/v1/openapi.yaml" else { return nil }
                return "\(route.method.rawValue) " + String(path.dropFirst(7)).replacingOccurrences(of: ":number", with: "{number}")
            })
            #expect(documented == routes)
        }
    }
}
