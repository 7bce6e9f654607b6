import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import TiplineCore
import TiplineProviders
@testable import TiplineServer
@testable import TiplineStore

/// The statistics of a month of reports built through the real intake (SMS, USSD, officers' NHAN and XONG, the
/// escalation timers), compared number by number with counts computed here from what the test sent — on the API's
/// JSON, the long CSV, the web page and the command line's output.
@Suite("Statistics")
struct StatisticsTests {
    /// What the test knows of one report of the month: what it sent, and when each thing happened.
    struct Fact: Sendable {
        var number: Int
        var via = "sms"
        var kind: String
        var urgent: Bool
        var province: String?
        var area: String?
        var age: Int?
        var sex: String?
        var destination: String?
        var received: Date
        var acknowledged: Date?
        var closed: Date?
        var outcome: String?
        var escalated = false
        var callNow = false
    }

    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    /// Moves the scenario's clock forward to `text`.
    static func move(_ clock: ManualClock, to text: String) {
        let minutes = at(text).timeIntervalSince(clock.read()) / 60
        precondition(minutes >= 0, "the clock only moves forward: \(text)")
        clock.advance(minutes: minutes)
    }

    // MARK: - The month

    /// Reports from 2026-10-31 to 2026-11-29 (Asia/Ho_Chi_Minh), each resolved before any timer could fire unasked,
    /// except the two at the end. Returns the facts of the November reports, 1002 to 1009; 1010 (USSD) and 1011 are
    /// made later, with the application running.
    static func month(_ s: inout Scenario, staff: StaffIdentity) async throws -> [Int: Fact] {
        let clock = s.clock
        var facts: [Int: Fact] = [:]

        // 1001, October: outside the month.
        _ = try await s.sms("+84900000700", "TRE Hoa 15t nu xa Lung Cu di Ha Noi")
        clock.advance(minutes: 5)
        _ = try await s.sms(lungCuPolice, "XONG 1001 VE")

        move(clock, to: "2026-11-02T09:00:00+07:00")
        _ = try await s.sms("+84900000701", "TRE Lan 14t nu xa Lung Cu di HCM")
        facts[1002] = Fact(number: 1002, kind: "tip", urgent: false, province: "8", area: "715", age: 14, sex: "female", destination: "79",
                           received: clock.read())
        clock.advance(minutes: 10)
        _ = try await s.sms(lungCuPolice, "NHAN 1002")
        facts[1002]!.acknowledged = clock.read()

        move(clock, to: "2026-11-02T10:00:00+07:00")
        _ = try await s.sms("+84900000702", "KHAN be gai 12t xa Meo Vac dang bi dua sang TQ")
        facts[1003] = Fact(number: 1003, kind: "alert", urgent: true, province: "8", area: "769", age: 12, sex: "female", destination: "CN",
                           received: clock.read(), escalated: true)
        clock.advance(minutes: 16)
        #expect(try await s.runtime.escalation.tick() == 1, "1003 alone reaches its next level")
        clock.advance(minutes: 4)
        _ = try await s.sms(meoVacSocial, "NHAN 1003")
        facts[1003]!.acknowledged = clock.read()
        move(clock, to: "2026-11-02T12:00:00+07:00")
        _ = try await s.sms(meoVacSocial, "XONG 1003 CONG AN da chuyen cong an huyen")
        facts[1003]!.closed = clock.read()
        facts[1003]!.outcome = "police"

        move(clock, to: "2026-11-03T09:00:00+07:00")
        _ = try await s.sms(lungCuPolice, "XONG 1002 VE em da ve nha")
        facts[1002]!.closed = clock.read()
        facts[1002]!.outcome = "returned"

        move(clock, to: "2026-11-05T08:00:00+07:00")
        _ = try await s.sms("+84900000703", "TIP Pao 16 boy from Meo Vac to China")
        facts[1004] = Fact(number: 1004, kind: "tip", urgent: true, province: "8", area: "769", age: 16, sex: "male", destination: "CN",
                           received: clock.read())
        clock.advance(minutes: 5)
        _ = try await s.sms(meoVacSocial, "ACK 1004")
        facts[1004]!.acknowledged = clock.read()
        clock.advance(minutes: 60)
        _ = try await s.sms(meoVacSocial, "DONE 1004 FOUND working in Shenzhen")
        facts[1004]!.closed = clock.read()
        facts[1004]!.outcome = "found"

        move(clock, to: "2026-11-06T14:00:00+07:00")
        _ = try await s.sms("+84900000704", "TRE Vy 17t nu phuong Thuan An di Da Nang")
        facts[1005] = Fact(number: 1005, kind: "tip", urgent: false, province: "46", area: "19900", age: 17, sex: "female", destination: "48",
                           received: clock.read())
        clock.advance(minutes: 30)
        _ = try await s.sms(phuVangSocial, "NHAN 1005")
        facts[1005]!.acknowledged = clock.read()
        move(clock, to: "2026-11-08T14:00:00+07:00")
        _ = try await s.sms(phuVangSocial, "XONG 1005 khong thay")
        facts[1005]!.closed = clock.read()
        facts[1005]!.outcome = "not_found"

        // An unreadable message, closed by hotline staff as a false report (never taken).
        move(clock, to: "2026-11-10T09:00:00+07:00")
        _ = try await s.sms("+84900000705", "con toi di lam xa 3 thang chua ve")
        facts[1006] = Fact(number: 1006, kind: "unknown", urgent: false, received: clock.read())
        clock.advance(minutes: 30)
        let actions = CaseActions(database: s.runtime.database, deployment: s.runtime.deployment, clock: { clock.read() })
        _ = try await actions.close(1006, result: "goi lai: nham so", outcome: .falseReport, by: staff)
        facts[1006]!.closed = clock.read()
        facts[1006]!.outcome = "false_report"

        move(clock, to: "2026-11-20T09:00:00+07:00")
        _ = try await s.sms("+84900000706", "TRE chau 8 tuoi xa Dong Van di Lao")
        facts[1007] = Fact(number: 1007, kind: "tip", urgent: true, province: "8", area: "721", age: 8, destination: "LA", received: clock.read())
        clock.advance(minutes: 2)
        _ = try await s.sms(lungCuPolice, "NHAN 1007")
        facts[1007]!.acknowledged = clock.read()
        move(clock, to: "2026-11-20T11:00:00+07:00")
        _ = try await s.sms(lungCuPolice, "XONG 1007 CHAN gia dinh giu lai")
        facts[1007]!.closed = clock.read()
        facts[1007]!.outcome = "stopped"

        move(clock, to: "2026-11-21T15:00:00+07:00")
        _ = try await s.sms("+84900000707", "TRE Sinh 19 tuoi nam xa Lung Cu di Bac Ninh")
        facts[1008] = Fact(number: 1008, kind: "tip", urgent: false, province: "8", area: "715", age: 19, sex: "male", destination: "24",
                           received: clock.read())
        clock.advance(minutes: 40)
        _ = try await s.sms(lungCuPolice, "NHAN 1008")
        facts[1008]!.acknowledged = clock.read()
        move(clock, to: "2026-11-22T15:00:00+07:00")
        _ = try await s.sms(lungCuPolice, "XONG 1008 da lien lac, em o Bac Ninh")
        facts[1008]!.closed = clock.read()

        // An alert nobody answers, through every level to "call now"; then taken and closed.
        move(clock, to: "2026-11-25T08:00:00+07:00")
        _ = try await s.sms("+84900000708", "SOS xa Meo Vac")
        facts[1009] = Fact(number: 1009, kind: "alert", urgent: true, province: "8", area: "769", received: clock.read(), escalated: true, callNow: true)
        clock.advance(minutes: 15)
        #expect(try await s.runtime.escalation.tick() == 1, "1009 alone reaches its next level")
        var steps = 0
        while try await !s.report(1009).callNow, steps < 60 {
            clock.advance(minutes: 5)
            _ = try await s.runtime.escalation.tick()
            steps += 1
        }
        #expect(try await s.report(1009).callNow)
        clock.advance(minutes: 5)
        _ = try await s.sms(meoVacSocial, "NHAN 1009")
        facts[1009]!.acknowledged = clock.read()
        clock.advance(minutes: 10)
        _ = try await s.sms(meoVacSocial, "XONG 1009 XH chuyen bao tro xa hoi")
        facts[1009]!.closed = clock.read()
        facts[1009]!.outcome = "social"
        return facts
    }

    // MARK: - Expected numbers, computed here

    static let communes = ["715": "Xã Lũng Cú (715)", "769": "Xã Mèo Vạc (769)", "721": "Xã Đồng Văn (721)", "19900": "Phường Thuận An (19900)"]
    static let provinces = ["8": "Tuyên Quang (8)", "46": "Thành phố Huế (46)"]
    static let destinations = [
        "79": ("destination_province", "Thành phố Hồ Chí Minh (79)"), "48": ("destination_province", "Thành phố Đà Nẵng (48)"),
        "24": ("destination_province", "Bắc Ninh (24)"), "CN": ("destination_country", "Trung Quốc (CN)"), "LA": ("destination_country", "Lào (LA)"),
    ]
    static let outcomes = ["returned", "stopped", "police", "social", "found", "not_found", "false_report"]

    static func band(_ age: Int?) -> String {
        guard let age else { return "unknown" }
        return age < 12 ? "under_12" : age < 14 ? "12_13" : age < 16 ? "14_15" : age < 18 ? "16_17" : "18_plus"
    }

    /// Median (mean of the two middle values when even) and nearest-rank 90th percentile, in minutes.
    static func medianAndP90(_ minutes: [Double]) -> (Double, Double) {
        let sorted = minutes.sorted()
        let n = sorted.count
        let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        let rank = Int((Double(n) * 9 / 10).rounded(.up))
        return (median, sorted[rank - 1])
    }

    /// Every number the statistics should show, as `dimension|value` → count (or minutes).
    static func expected(_ facts: [Fact]) -> [String: Double] {
        var lines: [String: Double] = [:]
        func add(_ dimension: String, _ value: String, _ count: Double = 1) { lines["\(dimension)|\(value)", default: 0] += count }
        func set(_ dimension: String, _ value: String, _ count: Double) { lines["\(dimension)|\(value)"] = count }
        set("reports", "all", Double(facts.count))
        for value in ["sms", "ussd"] { set("channel", value, 0) }
        for value in ["tip", "alert", "unknown"] { set("kind", value, 0) }
        for value in ["urgent", "normal"] { set("urgency", value, 0) }
        for band in ["under_12", "12_13", "14_15", "16_17", "18_plus", "unknown"] {
            for dimension in ["children_female", "children_male", "children_sex_unknown"] { set(dimension, band, 0) }
        }
        set("destination_unknown", "unknown", 0)
        for outcome in outcomes + ["none"] { set("outcome", outcome, 0) }
        for fact in facts {
            add("channel", fact.via)
            add("kind", fact.kind)
            add("urgency", fact.urgent ? "urgent" : "normal")
            add("province", fact.province.map { provinces[$0]! } ?? "unknown")
            add("commune", fact.area.map { communes[$0]! } ?? "unknown")
            let sex = ["female": "children_female", "male": "children_male"][fact.sex ?? ""] ?? "children_sex_unknown"
            add(sex, band(fact.age))
            if let code = fact.destination {
                let (dimension, label) = destinations[code]!
                add(dimension, label)
            } else {
                add("destination_unknown", "unknown")
            }
            if fact.closed != nil { add("outcome", fact.outcome ?? "none") }
        }
        for (step, cases, pick) in [("acknowledge", "acknowledged_cases", { (f: Fact) in f.acknowledged }), ("close", "closed_cases", { (f: Fact) in f.closed })] {
            let reached = facts.filter { pick($0) != nil }
            set(cases, "all", Double(reached.count))
            func times(_ group: [Fact], _ value: String) {
                let minutes = group.map { pick($0)!.timeIntervalSince($0.received) / 60 }
                let (median, p90) = medianAndP90(minutes)
                set(cases, value, Double(group.count))
                set("minutes_to_\(step)_median", value, median)
                set("minutes_to_\(step)_p90", value, p90)
            }
            if !reached.isEmpty { times(reached, "all") }
            for (area, group) in Dictionary(grouping: reached, by: \.area) {
                times(group, area.map { communes[$0]! } ?? "unknown")
            }
        }
        set("escalation", "escalated", Double(facts.filter(\.escalated).count))
        set("escalation", "call_now", Double(facts.filter(\.callNow).count))
        return lines
    }

    // MARK: - Reading each door

    /// The long CSV as `dimension|value` → number, after checking its BOM, header and period column.
    static func lines(csv text: String, period: String) -> [String: Double] {
        #expect(text.hasPrefix("\u{FEFF}period,dimension,value,count\r\n"))
        var lines: [String: Double] = [:]
        for row in text.dropFirst().split(separator: "\r\n").dropFirst() {
            let fields = csvFields(String(row))
            #expect(fields.count == 4 && fields[0] == period, "\(row)")
            guard fields.count == 4 else { continue }
            let key = "\(fields[1])|\(fields[2])"
            #expect(lines[key] == nil, "one row per number: \(key)")
            lines[key] = Double(fields[3])
        }
        return lines
    }

    static func csvFields(_ row: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(row)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
        }
        fields.append(field)
        return fields
    }

    /// The web page's counted cells (`data-dimension`, `data-value`) as `dimension|value` → number.
    static func lines(html: String) -> [String: Double] {
        func unescape(_ text: Substring) -> String {
            text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
                .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
        }
        var lines: [String: Double] = [:]
        for match in html.matches(of: /<td class="n" data-dimension="([^"]+)" data-value="([^"]*)">([^<]*)<\/td>/) {
            let key = "\(unescape(match.1))|\(unescape(match.2))"
            #expect(lines[key] == nil, "one cell per number: \(key)")
            lines[key] = Double(unescape(match.3))
        }
        return lines
    }

    /// The API's JSON as `dimension|value` → number, read field by field.
    static func lines(json data: ByteBuffer) throws -> [String: Double] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: data).utf8)) as? [String: Any])
        var lines: [String: Double] = [:]
        func number(_ value: Any?) -> Double {
            if let value = value as? Double { return value }
            if let value = value as? Int { return Double(value) }
            return (value as? NSNumber)?.doubleValue ?? .nan
        }
        lines["reports|all"] = number(object["reports"])
        for (field, dimension) in [("channels", "channel"), ("kinds", "kind"), ("urgency", "urgency"), ("outcomes", "outcome"), ("escalations", "escalation")] {
            for (value, count) in object[field] as? [String: Any] ?? [:] { lines["\(dimension)|\(value)"] = number(count) }
        }
        for item in object["provinces"] as? [[String: Any]] ?? [] {
            lines["province|" + ((item["code"] as? String).map { provinces[$0] ?? $0 } ?? "unknown")] = number(item["count"])
        }
        for item in object["communes"] as? [[String: Any]] ?? [] {
            lines["commune|" + ((item["code"] as? String).map { communes[$0] ?? $0 } ?? "unknown")] = number(item["count"])
        }
        for item in object["children"] as? [[String: Any]] ?? [] {
            let sex = ["female": "children_female", "male": "children_male"][item["sex"] as? String ?? ""] ?? "children_sex_unknown"
            lines["\(sex)|\(item["age_band"] as? String ?? "?")"] = number(item["count"])
        }
        lines["destination_unknown|unknown"] = 0
        for item in object["destinations"] as? [[String: Any]] ?? [] {
            if let code = item["code"] as? String, let (dimension, label) = destinations[code] {
                #expect(item["kind"] as? String == (dimension == "destination_country" ? "country" : "province"), "\(code)")
                lines["\(dimension)|\(label)"] = number(item["count"])
            } else {
                lines["destination_unknown|unknown"] = number(item["count"])
            }
        }
        for (field, step, cases) in [("time_to_acknowledge", "acknowledge", "acknowledged_cases"), ("time_to_close", "close", "closed_cases")] {
            let table = object[field] as? [String: Any] ?? [:]
            func times(_ item: [String: Any], _ value: String) {
                lines["\(cases)|\(value)"] = number(item["count"])
                lines["minutes_to_\(step)_median|\(value)"] = number(item["median_minutes"])
                lines["minutes_to_\(step)_p90|\(value)"] = number(item["p90_minutes"])
            }
            if let all = table["all"] as? [String: Any] { times(all, "all") } else { lines["\(cases)|all"] = 0 }
            for item in table["communes"] as? [[String: Any]] ?? [] {
                times(item, (item["code"] as? String).map { communes[$0] ?? $0 } ?? "unknown")
            }
        }
        return lines
    }

    static func compare(_ actual: [String: Double], _ expected: [String: Double], _ door: String) {
        for key in Set(actual.keys).union(expected.keys).sorted() {
            #expect(actual[key] == expected[key], "\(door): \(key) is \(actual[key].map { "\($0)" } ?? "missing"), expected \(expected[key].map { "\($0)" } ?? "none")")
        }
    }

    // MARK: - The test

    @Test("a month of reports: every number on the API's JSON, the CSV, the web page and the command line matches counts made here")
    func monthOfReports() async throws {
        var s = try await Scenario(at: "2026-10-31T22:00:00+07:00")
        defer { s.remove() }
        let staff = StaffIdentity(name: "desk", role: .hotline)
        var facts = try await Self.month(&s, staff: staff)

        // The last two, made with the application running (USSD needs its route): a USSD tip taken at once, and a tip
        // with no commune nobody has taken yet. Neither timer is due when the numbers are read.
        facts[1010] = Fact(number: 1010, via: "ussd", kind: "tip", urgent: true, province: "8", area: "715", age: 13, sex: "female",
                           destination: "CN", received: Self.at("2026-11-28T09:00:00+07:00"), acknowledged: Self.at("2026-11-28T09:05:00+07:00"))
        facts[1011] = Fact(number: 1011, kind: "tip", urgent: false, age: 15, sex: "male", destination: "79", received: Self.at("2026-11-29T07:30:00+07:00"))
        let month = facts.values.sorted { $0.number < $1.number }
        let expected = Self.expected(month)
        // A few numbers worked out by hand, so the computation above is checked too.
        #expect(expected["reports|all"] == 10 && expected["channel|sms"] == 9 && expected["channel|ussd"] == 1)
        #expect(expected["kind|tip"] == 7 && expected["urgency|urgent"] == 5 && expected["commune|unknown"] == 2)
        #expect(expected["children_female|12_13"] == 2 && expected["children_sex_unknown|unknown"] == 2)
        #expect(expected["destination_country|Trung Quốc (CN)"] == 3 && expected["outcome|none"] == 1)
        #expect(expected["acknowledged_cases|all"] == 8 && expected["minutes_to_acknowledge_median|all"] == 15
                && expected["minutes_to_close_p90|all"] == 2880 && expected["minutes_to_close_median|Xã Lũng Cú (715)"] == 1440)
        #expect(expected["minutes_to_acknowledge_median|Xã Lũng Cú (715)"] == 10 && expected["minutes_to_acknowledge_p90|Xã Lũng Cú (715)"] == 40)

        let token = "tl_statistics_manager"
        let officerToken = "tl_statistics_meovac"
        _ = try await s.runtime.database.insertToken(name: "manager", role: .hotline, officerID: nil, hash: StaffAuth.hash(token: token),
                                                     now: s.clock.read())
        _ = try await s.runtime.database.insertToken(name: "meovac-social", role: .officer, officerID: "meovac-social",
                                                     hash: StaffAuth.hash(token: officerToken), now: s.clock.read())
        try await s.addUser("manager", password: "manager password 1")
        Self.move(s.clock, to: "2026-11-28T09:00:00+07:00")
        let runtime = s.runtime
        let clock = s.clock
        let meoVac = month.filter { $0.area == "769" }

        try await s.live { client in
            // 1010 by USSD, then taken by its officer.
            var answer = ""
            for text in ["", "1", "1*Mai", "1*Mai*13", "1*Mai*13*2", "1*Mai*13*2*lung c", "1*Mai*13*2*lung c*1", "1*Mai*13*2*lung c*1*5",
                         "1*Mai*13*2*lung c*1*5*2", "1*Mai*13*2*lung c*1*5*2*1"] {
                let form = FormBody.encode([("sessionId", "stats-1"), ("serviceCode", "*123#"), ("phoneNumber", "+84900000710"),
                                            ("networkCode", "45204"), ("text", text)])
                let response = try await client.execute(uri: "/channels/ussd/ussd", method: .post,
                                                        headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: form))
                answer = String(buffer: response.body)
            }
            #expect(answer.hasPrefix("END Da nhan bao cao so 1010"), "\(answer)")
            Self.move(clock, to: "2026-11-28T09:05:00+07:00")
            _ = try await runtime.intake.receive(InboundSMS(providerMessageID: "stats-ack-1010", from: lungCuPolice, to: nil, text: "NHAN 1010"),
                                                 channel: "simulator")
            Self.move(clock, to: "2026-11-29T07:30:00+07:00")
            _ = try await runtime.intake.receive(InboundSMS(providerMessageID: "stats-1011", from: "+84900000711", to: nil,
                                                            text: "TRE Tuan 15t trai di Binh Duong"), channel: "simulator")
            Self.move(clock, to: "2026-11-29T08:00:00+07:00")
            #expect(try await runtime.escalation.tick() == 0, "no timer is due: the numbers cannot move while they are read")

            // What was stored is what the test sent.
            for fact in month {
                let report = try #require(try await runtime.database.report(number: fact.number))
                #expect(report.via == fact.via && report.kind.rawValue == fact.kind && report.urgent == fact.urgent, "\(fact.number)")
                #expect(report.provinceCode == fact.province && report.areaCode == fact.area, "\(fact.number): \(report.areaCode ?? "-")")
                #expect(report.parsed.child.age == fact.age && report.parsed.child.sex?.rawValue == fact.sex, "\(fact.number)")
                #expect(report.parsed.destination.code == fact.destination, "\(fact.number): \(report.parsed.destination.code ?? "-")")
                #expect(report.receivedAt == fact.received && report.closedAt == fact.closed && report.outcome?.rawValue == fact.outcome,
                        "\(fact.number)")
            }

            // The API.
            let api = try await client.execute(uri: "/api/v1/statistics?month=2026-11", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(api.status == .ok && api.headers[.contentType] == "application/json; charset=utf-8")
            Self.compare(try Self.lines(json: api.body), expected, "API JSON")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: api.body).utf8)) as? [String: Any])
            #expect(object["period"] as? String == "2026-11" && object["closed"] as? Int == 8)
            #expect(object["since"] as? String == "2026-10-31T17:00:00Z" && object["until"] as? String == "2026-11-30T17:00:00Z")

            let csv = try await client.execute(uri: "/api/v1/statistics.csv?month=2026-11", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(csv.status == .ok && csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(csv.headers[.contentDisposition] == "attachment; filename=\"tipline-statistics-2026-11.csv\"")
            let csvText = String(buffer: csv.body)
            Self.compare(Self.lines(csv: csvText, period: "2026-11"), expected, "API CSV")

            // The web page, as a signed-in manager: the same numbers in its tables, charts as inline SVG, nothing inline for the CSP.
            let cookie = try #require(try await WebAccessTests.signIn(client, "manager", "manager password 1").cookie)
            let page = try await client.execute(uri: "/statistics?month=2026-11", method: .get, headers: [.cookie: cookie])
            #expect(page.status == .ok)
            let html = String(buffer: page.body)
            Self.compare(Self.lines(html: html), expected, "web page")
            #expect(html.contains("<title>Thống kê / Statistics · tipline</title>") && html.contains(#"<a href="/statistics">"#))
            #expect(html.contains(#"<svg class="chart""#) && html.contains(#"<rect class="bar s0""#) && html.contains(#"<rect class="bar s1""#))
            #expect(!html.contains("<script") && !html.contains("<style") && !html.contains("style="), "nothing inline for the CSP to block")
            let byDefault = try await client.execute(uri: "/statistics", method: .get, headers: [.cookie: cookie])
            #expect(String(buffer: byDefault.body).contains("<b>2026-11</b>"), "the current month by default")
            let webCSV = try await client.execute(uri: "/statistics.csv?month=2026-11", method: .get, headers: [.cookie: cookie])
            #expect(String(buffer: webCSV.body) == csvText)

            // The command line's function: the same CSV and JSON, and the same numbers in its text.
            let cli = try await StatisticsReport.load(["month": "2026-11"], database: runtime.database, deployment: runtime.deployment.current,
                                                      now: clock.read())
            #expect(cli.csv == csvText)
            #expect(try cli.json() == String(buffer: api.body))
            let text = cli.text.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ") }
            func number(_ key: String) -> String {
                let value = expected[key] ?? .nan
                return value == value.rounded() ? String(Int(value)) : String(value)
            }
            let acknowledged = ["acknowledged_cases|all", "minutes_to_acknowledge_median|all", "minutes_to_acknowledge_p90|all"].map(number)
            let closed = ["closed_cases|all", "minutes_to_close_median|all", "minutes_to_close_p90|all"].map(number)
            for line in ["Báo cáo / Reports 10", "SMS 9", "USSD 1", "Tin báo / Tip 7", "Khẩn / Alert 2", "Gấp / Urgent 5", "Tuyên Quang (8) 7",
                         "Xã Mèo Vạc (769) 3", "12–13 2 0 0", "Không rõ / Unknown 0 0 2", "Trung Quốc (CN) — nước ngoài / abroad 3",
                         "Đã về nhà / Returned home 1", "Không ghi mã / No code 1", "Tất cả / All " + acknowledged.joined(separator: " "),
                         "Tất cả / All " + closed.joined(separator: " "), "Gọi ngay / Call now 1"] {
                #expect(text.contains(line), "tipline stats prints \(line.debugDescription)")
            }
            await #expect(throws: ReportLog.ValidationFailure.self) {
                try await StatisticsReport.load(["month": "2026-13"], database: runtime.database, deployment: runtime.deployment.current)
            }

            // Scope: an officer sees the communes they cover; another commune is refused.
            let officer = try await client.execute(uri: "/api/v1/statistics?month=2026-11", method: .get, headers: [.authorization: "Bearer \(officerToken)"])
            #expect(officer.status == .ok)
            Self.compare(try Self.lines(json: officer.body), Self.expected(meoVac), "officer's API JSON")
            let outside = try await client.execute(uri: "/api/v1/statistics?area=715", method: .get, headers: [.authorization: "Bearer \(officerToken)"])
            #expect(outside.status == .forbidden)
            let area = try await client.execute(uri: "/api/v1/statistics.csv?month=2026-11&area=769", method: .get,
                                                headers: [.authorization: "Bearer \(token)"])
            Self.compare(Self.lines(csv: String(buffer: area.body), period: "2026-11"), Self.expected(meoVac), "one commune's CSV")

            // Other periods, and what is refused.
            let range = try await client.execute(uri: "/api/v1/statistics?since=2026-11-01&until=2026-11-20", method: .get,
                                                 headers: [.authorization: "Bearer \(token)"])
            let early = month.filter { $0.received >= Self.at("2026-11-01T00:00:00Z") && $0.received < Self.at("2026-11-20T00:00:00Z") }
            #expect(early.map(\.number) == [1002, 1003, 1004, 1005, 1006])
            Self.compare(try Self.lines(json: range.body), Self.expected(early), "since/until")
            let december = try await client.execute(uri: "/api/v1/statistics?month=2026-12", method: .get, headers: [.authorization: "Bearer \(token)"])
            Self.compare(try Self.lines(json: december.body), Self.expected([]), "an empty month")
            for query in ["month=2026-13", "month=11-2026", "month=2026-11&since=2026-11-01", "until=2026-11-20", "since=2026-11-20&until=2026-11-01",
                          "week=48", "area=abc"] {
                let refused = try await client.execute(uri: "/api/v1/statistics?\(query)", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(refused.status == .badRequest, "\(query)")
                #expect(String(buffer: refused.body).hasPrefix(#"{"error":"#), "\(query)")
            }
            #expect(try await client.execute(uri: "/api/v1/statistics", method: .get).status == .unauthorized)

            // Every read is audited with its period.
            let audit = try await runtime.database.auditLog(limit: 100)
            #expect(audit.contains { $0.action == "view_statistics" && $0.actor == "manager" && $0.detail == "period=2026-11; via=api" })
            #expect(audit.contains { $0.action == "export_statistics" && $0.detail == "period=2026-11; area=769; via=api" })
            #expect(audit.contains { $0.action == "view_statistics" && $0.actor == "manager" && $0.detail == "period=2026-11; via=web" })
            #expect(audit.contains { $0.action == "export_statistics" && $0.detail == "period=2026-11; via=web" })

            // The outcome on the report: its page, the API, the CSV export.
            let report = try await client.execute(uri: "/reports/1002", method: .get, headers: [.cookie: cookie])
            #expect(String(buffer: report.body).contains(#"<dd id="outcome">Đã về nhà / Returned home</dd>"#))
            #expect(String(buffer: report.body).contains(#"<select name="outcome" id="close-outcome">"#) == false, "a closed case has no close form")
            let open = try await client.execute(uri: "/reports/1011", method: .get, headers: [.cookie: cookie])
            #expect(String(buffer: open.body).contains(#"<option value="not_found">Không tìm thấy / Not found</option>"#))
            let view = try await client.execute(uri: "/api/v1/reports/1002", method: .get, headers: [.authorization: "Bearer \(token)"])
            #expect(String(buffer: view.body).contains(#""outcome":"returned""#))
            let export = String(buffer: try await client.execute(uri: "/api/v1/reports.csv", method: .get, headers: [.authorization: "Bearer \(token)"]).body)
            #expect(export.split(separator: "\r\n").first?.hasSuffix(",result,outcome") == true)
            #expect(export.split(separator: "\r\n").contains { $0.hasPrefix("1002,") && $0.hasSuffix(",em da ve nha,returned") })
        }

        // Retention keeps the facts: erasing a case's personal details changes no number.
        let period = try #require(StatisticsPeriod.month("2026-11", timeZone: s.runtime.deployment.current.settings.timeZone))
        let before = try await s.runtime.database.statistics(since: period.since, until: period.until)
        _ = try await s.runtime.database.erase(report: 1002, now: s.clock.read(), dryRun: false)
        let erased = try await s.report(1002)
        #expect(erased.text == nil && erased.result == nil && erased.outcome == .returned && erased.parsed.child.sex == .female)
        #expect(try await s.runtime.database.statistics(since: period.since, until: period.until) == before)
    }

    @Test("periods: a month in the deployment's time zone, since/until, refusals; median and p90 by nearest rank")
    func periodsAndPercentiles() throws {
        let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh")!
        let november = try #require(StatisticsPeriod.month("2026-11", timeZone: zone))
        #expect(november.since == Self.at("2026-11-01T00:00:00+07:00") && november.until == Self.at("2026-12-01T00:00:00+07:00"))
        #expect(StatisticsPeriod.month("2026-00", timeZone: zone) == nil && StatisticsPeriod.month("26-11", timeZone: zone) == nil)
        let now = Self.at("2026-12-31T23:30:00+07:00")
        #expect(try StatisticsPeriod.from([:], now: now, timeZone: zone).label == "2026-12", "the current month by default")
        #expect(try StatisticsPeriod.from(["since": "7d"], now: now, timeZone: zone).until == now)
        #expect(throws: APIError.self) { try StatisticsPeriod.from(["month": "2026-11", "until": "1d"], now: now, timeZone: zone) }
        func summary(_ values: [TimeInterval]) -> [TimeInterval]? { Statistics.summary(values).map { [$0.median, $0.p90] } }
        #expect(summary([]) == nil)
        #expect(summary([60]) == [60, 60])
        #expect(summary([300, 60, 120]) == [120, 300])
        #expect(summary([60, 120, 180, 240]) == [150, 240])
        #expect(summary((1...10).map { Double($0) }) == [5.5, 9])
        #expect(summary((1...11).map { Double($0) }) == [6, 10])
        #expect(StatisticsReport.minutes(90) == "1.5" && StatisticsReport.minutes(600) == "10" && StatisticsReport.minutes(0) == "0")
    }
}

let phuVangSocial = "+84900000121"
