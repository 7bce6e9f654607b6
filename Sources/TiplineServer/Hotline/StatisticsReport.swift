import Foundation
import TiplineCore
import TiplineStore

/// The period the statistics count: a month of the deployment's time zone (`month=2026-11`, the current month by
/// default), or `since` … `until` (ISO 8601 or relative, as the log's filters).
public struct StatisticsPeriod: Sendable, Equatable {
    public let since: Date
    public let until: Date
    /// `2026-11` for a month; `since/until` in ISO 8601 otherwise (the CSV's `period` column).
    public let label: String
    /// The month, when the period is one (`2026-11`).
    public let month: String?

    /// The month `YYYY-MM` in `timeZone`; nil when it is not one.
    static func month(_ text: String, timeZone: TimeZone) -> StatisticsPeriod? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]), (1970...9999).contains(year), (1...12).contains(month) else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        guard let since = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
              let until = calendar.date(byAdding: .month, value: 1, to: since) else { return nil }
        return StatisticsPeriod(since: since, until: until, label: text, month: text)
    }

    /// The month `date` falls in, in `timeZone`.
    static func month(of date: Date, timeZone: TimeZone) -> StatisticsPeriod {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.year, .month], from: date)
        let text = String(format: "%04d-%02d", parts.year ?? 1970, parts.month ?? 1)
        // A clock outside 1970–9999 has no month to show: the day around it instead.
        return month(text, timeZone: timeZone)
            ?? StatisticsPeriod(since: date.addingTimeInterval(-86400), until: date, label: ReportView.iso(date), month: nil)
    }

    /// The period a query asks for (`month`, or `since` and `until`); a bad one is a 400 naming the parameter.
    static func from(_ query: [String: String], now: Date, timeZone: TimeZone) throws -> StatisticsPeriod {
        let month = query["month"].flatMap { $0.isEmpty ? nil : $0 }
        let since = query["since"].flatMap { $0.isEmpty ? nil : $0 }
        let until = query["until"].flatMap { $0.isEmpty ? nil : $0 }
        if let month {
            guard since == nil, until == nil else { throw APIError(.badRequest, "month: give a month, or since and until, not both") }
            guard let period = Self.month(month, timeZone: timeZone) else {
                throw APIError(.badRequest, "month: '\(month)' is not a month (YYYY-MM, such as 2026-11)")
            }
            return period
        }
        guard since != nil || until != nil else { return Self.month(of: now, timeZone: timeZone) }
        guard let since else { throw APIError(.badRequest, "since: give it with until (or a month)") }
        let start = try ReportQuery.instant(since, parameter: "since", now: now)
        let end = try until.map { try ReportQuery.instant($0, parameter: "until", now: now) } ?? now
        // From 1970 to the end of 9999, as a month may be.
        let range = Date(timeIntervalSince1970: 0)...Date(timeIntervalSince1970: 253_402_300_799)
        guard range.contains(start) else { throw APIError(.badRequest, "since: '\(since)' is out of range") }
        guard range.contains(end) else { throw APIError(.badRequest, "until: '\(until ?? "")' is out of range") }
        guard start < end else { throw APIError(.badRequest, "until: must be after since") }
        return StatisticsPeriod(since: start, until: end, label: ReportView.iso(start) + "/" + ReportView.iso(end), month: nil)
    }
}

/// The statistics of a period and scope as every door shows them — the API's JSON, the long CSV
/// (`period,dimension,value,count`), the web page's tables and charts, and `tipline stats` — from one set of tables,
/// so the four can never disagree.
///
/// The numbers come from ``AppDatabase/statistics(since:until:scope:)``; here they get their names (communes,
/// provinces and destinations from the gazetteer) and their dimensions.
public struct StatisticsReport: Sendable {
    public let period: StatisticsPeriod
    /// The commune or province asked for, if any.
    public let area: String?
    public let statistics: Statistics
    /// The tables shown, in order; every number of the CSV is one of their counted cells.
    let tables: [Table]
    let names: Names

    /// One number as the CSV and the web page name it: `dimension` (`kind`, `children_female`,
    /// `minutes_to_close_median` …) and the `value` of that dimension (`tip`, `14_15`, `Xã Lũng Cú (715)`, `all`).
    public struct Line: Sendable, Equatable, Hashable {
        public let dimension: String
        public let value: String
        /// The count, or minutes for the time dimensions (one decimal at most).
        public let count: String
    }

    /// A table of the page (and a block of the command line's output).
    struct Table: Sendable {
        let id: String
        let title: String
        let headers: [String]
        let rows: [Row]
        /// What its chart draws; nil: no chart.
        let chart: ChartStyle?
    }

    /// Which cells of each row a chart draws, one bar each, and the name of each series (one per cell drawn).
    struct ChartStyle: Sendable {
        let cells: [Int]
        let series: [String]
        static let firstCell = ChartStyle(cells: [0], series: [])
    }

    struct Row: Sendable {
        let label: String
        let cells: [Cell]
    }

    struct Cell: Sendable {
        /// Nil for a cell with no number (a time nobody reached).
        let line: Line?
        var text: String { line?.count ?? "—" }
    }

    // MARK: - Loading

    /// The parameters a statistics request may have.
    static let parameters: Set = ["month", "since", "until", "area"]

    /// The statistics `query` asks for, narrowed to what `access` may see (nil: everything, for the command line).
    static func load(_ query: [String: String], access: StaffReportAccess?, database: AppDatabase, deployment: Deployment,
                     now: Date) async throws -> StatisticsReport {
        if let unknown = query.keys.sorted().first(where: { !parameters.contains($0) }) {
            throw APIError(.badRequest, "\(unknown): unknown parameter (known: \(parameters.sorted().joined(separator: ", ")))")
        }
        let period = try StatisticsPeriod.from(query, now: now, timeZone: deployment.settings.timeZone)
        var scope = AppDatabase.ReportFilter()
        if let area = query["area"], !area.isEmpty {
            guard area.count <= 12, area.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw APIError(.badRequest, "area: '\(area)' is not an area or province code")
            }
            scope.area = area
        }
        if let access { try access.scope(&scope) }
        let statistics = try await database.statistics(since: period.since, until: period.until, scope: scope)
        return StatisticsReport(period: period, area: scope.area, statistics: statistics, gazetteer: deployment.gazetteer)
    }

    /// For `tipline stats`: everything, as hotline staff see it; a bad option is a ``ReportLog/ValidationFailure``.
    public static func load(_ query: [String: String], database: AppDatabase, deployment: Deployment,
                            now: Date = Date()) async throws -> StatisticsReport {
        do {
            return try await load(query, access: nil, database: database, deployment: deployment, now: now)
        } catch let error as APIError {
            throw ReportLog.ValidationFailure(message: error.message.replacingOccurrences(of: "month:", with: "--month:")
                .replacingOccurrences(of: "since:", with: "--since:").replacingOccurrences(of: "until:", with: "--until:")
                .replacingOccurrences(of: "area:", with: "--area:"))
        }
    }

    /// What the audit log keeps of a read: the period, the area asked for, and through what.
    func auditDetail(via: String) -> String {
        (["period=\(period.label)"] + (area.map { ["area=\($0)"] } ?? []) + ["via=\(via)"]).joined(separator: "; ")
    }

    // MARK: - Tables

    init(period: StatisticsPeriod, area: String?, statistics: Statistics, gazetteer: Gazetteer) {
        self.period = period
        self.area = area
        self.statistics = statistics
        let names = Names(gazetteer: gazetteer)
        self.names = names
        self.tables = Self.tables(statistics, names: names)
    }

    /// Names of communes, provinces and destinations, from the deployment's reference data.
    struct Names {
        let gazetteer: Gazetteer

        func commune(_ code: String?) -> String {
            guard let code else { return "unknown" }
            return gazetteer.area(code: code).map { "\($0.name) (\(code))" } ?? code
        }

        func communeName(_ code: String?) -> String? { code.flatMap { gazetteer.area(code: $0)?.name } }

        func provinceName(_ code: String?) -> String? {
            guard let code else { return nil }
            return gazetteer.areas.first { $0.provinceCode == code }?.province
                ?? gazetteer.places.first { $0.kind == .province && $0.code == code }?.name
        }

        func province(_ code: String?) -> String {
            guard let code else { return "unknown" }
            return provinceName(code).map { "\($0) (\(code))" } ?? code
        }

        func place(_ code: String?) -> Place? { code.flatMap { code in gazetteer.places.first { $0.code == code } } }

        /// A destination's dimension: a province at home, a country abroad, or none known.
        func destinationDimension(_ code: String?) -> String {
            guard let code else { return "destination_unknown" }
            if let place = place(code) { return place.kind == .country ? "destination_country" : "destination_province" }
            return code.allSatisfy(\.isNumber) ? "destination_province" : "destination_country"
        }

        func destination(_ code: String?) -> String {
            guard let code else { return "unknown" }
            return place(code).map { "\($0.name) (\(code))" } ?? code
        }
    }

    static let kindLabels = ["tip": "Tin báo / Tip", "alert": "Khẩn / Alert", "unknown": "Không đọc được / Unreadable"]
    static let channelLabels = ["sms": "SMS", "ussd": "USSD"]
    static let urgencyLabels = ["urgent": "Gấp / Urgent", "normal": "Thường / Not urgent"]
    static let ageLabels: [Statistics.AgeBand: String] = [
        .under12: "Dưới 12 / Under 12", .age12to13: "12–13", .age14to15: "14–15", .age16to17: "16–17", .adult: "18+",
        .unknown: "Không rõ / Unknown",
    ]
    static let sexDimensions = ["female": "children_female", "male": "children_male", "unknown": "children_sex_unknown"]
    static let escalationLabels = ["escalated": "Đã chuyển cấp / Escalated", "call_now": "Gọi ngay / Call now"]

    /// Minutes, to one decimal, without a trailing `.0`.
    static func minutes(_ seconds: TimeInterval) -> String {
        let tenths = (seconds / 6).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? String(Int(tenths / 10)) : String(format: "%.1f", tenths / 10)
    }

    static func tables(_ s: Statistics, names: Names) -> [Table] {
        func line(_ dimension: String, _ value: String, _ count: Int) -> Cell {
            Cell(line: Line(dimension: dimension, value: value, count: String(count)))
        }
        func counts(_ id: String, _ title: String, header: String = "Số báo cáo / Reports", _ counts: [Statistics.Count],
                    label: (String?) -> String, value: (String?) -> String = { $0 ?? "unknown" }) -> Table {
            Table(id: id, title: title, headers: ["", header],
                  rows: counts.map { Row(label: label($0.value), cells: [line(id, value($0.value), $0.count)]) }, chart: .firstCell)
        }
        var tables: [Table] = [
            Table(id: "reports", title: "Tổng số / Total", headers: ["", "Số báo cáo / Reports"],
                  rows: [Row(label: "Báo cáo / Reports", cells: [line("reports", "all", s.reports)])], chart: nil),
            counts("channel", "Kênh / Channel", s.channels) { channelLabels[$0 ?? ""] ?? $0 ?? "unknown" },
            counts("kind", "Loại / Kind", s.kinds) { kindLabels[$0 ?? ""] ?? $0 ?? "unknown" },
            counts("urgency", "Mức gấp / Urgency", s.urgency) { urgencyLabels[$0 ?? ""] ?? $0 ?? "unknown" },
            counts("province", "Tỉnh / Province", s.provinces, label: names.province, value: names.province),
            counts("commune", "Xã / Commune", s.communes, label: names.commune, value: names.commune),
        ]
        // Children: age band × sex.
        tables.append(Table(
            id: "children", title: "Trẻ theo tuổi × giới / Children by age × sex",
            headers: ["Tuổi / Age", "Nữ / Female", "Nam / Male", "Không rõ / Unknown"],
            rows: Statistics.AgeBand.allCases.map { band in
                Row(label: ageLabels[band] ?? band.rawValue, cells: Statistics.sexes.map { sex in
                    line(sexDimensions[sex]!, band.rawValue, s.children.first { $0.ageBand == band && $0.sex == sex }?.count ?? 0)
                })
            },
            chart: ChartStyle(cells: [0, 1, 2], series: ["Nữ / Female", "Nam / Male", "Không rõ / Unknown"])))
        // Destinations: provinces at home, countries abroad, then none known.
        let destinations = s.destinations.sorted { a, b in
            let order = ["destination_province": 0, "destination_country": 1, "destination_unknown": 2]
            let (x, y) = (order[names.destinationDimension(a.value)]!, order[names.destinationDimension(b.value)]!)
            return x != y ? x < y : a.count != b.count ? a.count > b.count : (a.value ?? "") < (b.value ?? "")
        }
        var destinationRows = destinations.map { count in
            let dimension = names.destinationDimension(count.value)
            let label = names.destination(count.value) + (dimension == "destination_country" ? " — nước ngoài / abroad" : "")
            return Row(label: count.value == nil ? "Không rõ / Unknown" : label,
                       cells: [line(dimension, names.destination(count.value), count.count)])
        }
        if !destinations.contains(where: { $0.value == nil }) {
            destinationRows.append(Row(label: "Không rõ / Unknown", cells: [line("destination_unknown", "unknown", 0)]))
        }
        tables.append(Table(id: "destinations", title: "Nơi đến / Destinations", headers: ["", "Số báo cáo / Reports"],
                            rows: destinationRows, chart: .firstCell))
        tables.append(Table(
            id: "outcome", title: "Kết quả (ca đã đóng) / Outcomes (closed cases)", headers: ["", "Số ca / Cases"],
            rows: s.outcomes.map { count in
                let label = count.value.flatMap(Outcome.init(rawValue:))?.label ?? count.value ?? "Không ghi mã / No code"
                return Row(label: label, cells: [line("outcome", count.value ?? "none", count.count)])
            },
            chart: .firstCell))
        tables.append(durations("acknowledge", "Thời gian đến khi có người nhận ca / Time to first acknowledgement",
                                cases: "acknowledged_cases", s.timeToAcknowledge, names: names))
        tables.append(durations("close", "Thời gian đến khi đóng ca / Time to close", cases: "closed_cases", s.timeToClose, names: names))
        tables.append(counts("escalation", "Chuyển cấp / Escalations", header: "Số ca / Cases", s.escalations) {
            escalationLabels[$0 ?? ""] ?? $0 ?? "unknown"
        })
        return tables
    }

    /// Cases, median and p90 in minutes: for all, then per commune.
    static func durations(_ step: String, _ title: String, cases: String, _ table: Statistics.DurationTable, names: Names) -> Table {
        func row(_ label: String, _ value: String, _ durations: Statistics.Durations?) -> Row {
            guard let durations else {
                return Row(label: label, cells: [Cell(line: Line(dimension: cases, value: value, count: "0")), Cell(line: nil), Cell(line: nil)])
            }
            return Row(label: label, cells: [
                Cell(line: Line(dimension: cases, value: value, count: String(durations.count))),
                Cell(line: Line(dimension: "minutes_to_\(step)_median", value: value, count: minutes(durations.median))),
                Cell(line: Line(dimension: "minutes_to_\(step)_p90", value: value, count: minutes(durations.p90))),
            ])
        }
        let rows = [row("Tất cả / All", "all", table.all)]
            + table.byCommune.map { row(names.commune($0.area), names.commune($0.area), $0) }
        return Table(id: step, title: title, headers: ["Xã / Commune", "Số ca / Cases", "Trung vị / Median (phút/min)", "P90 (phút/min)"],
                     rows: rows, chart: ChartStyle(cells: [1, 2], series: ["Trung vị / Median", "P90"]))
    }

    // MARK: - Outputs

    /// Every number, in the order shown.
    public var lines: [Line] {
        tables.flatMap { $0.rows.flatMap { $0.cells.compactMap(\.line) } }
    }

    /// The long CSV a manager pastes into a monthly report: `period,dimension,value,count`, UTF-8 with a byte-order
    /// mark (as the reports export), CRLF line ends.
    public var csv: String {
        var out = "\u{FEFF}period,dimension,value,count\r\n"
        for line in lines {
            out += [period.label, line.dimension, line.value, line.count].map(ReportView.csvField).joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// The plain-text tables of `tipline stats`.
    public var text: String {
        var out = "Thống kê / Statistics \(period.label)" + (area.map { " · area \($0)" } ?? "")
            + "  (\(ReportView.iso(period.since)) – \(ReportView.iso(period.until)))\n"
        for table in tables {
            out += "\n" + table.title + "\n"
            let rows = [table.headers] + table.rows.map { [$0.label] + $0.cells.map(\.text) }
            let widths = table.headers.indices.map { column in rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
            for row in rows {
                var text = "  " + row.enumerated().map { index, cell in
                    index == 0 ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                        : String(repeating: " ", count: max(0, widths[index] - cell.count)) + cell
                }.joined(separator: "  ")
                while text.hasSuffix(" ") { text.removeLast() }
                out += text + "\n"
            }
        }
        return out
    }

    /// The API's JSON (keys sorted).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(jsonBody), as: UTF8.self)
    }

    var jsonBody: JSONBody { JSONBody(self) }
}

extension StatisticsReport {
    /// `GET /api/v1/statistics`: the same numbers as the CSV, by field (schema `Statistics` in `openapi.yaml`).
    struct JSONBody: Encodable {
        let report: StatisticsReport
        init(_ report: StatisticsReport) { self.report = report }

        enum Keys: String, CodingKey {
            case period, since, until, area, reports, channels, kinds, urgency, provinces, communes, children, destinations
            case closed, outcomes, escalations
            case timeToAcknowledge = "time_to_acknowledge", timeToClose = "time_to_close"
        }

        struct Named: Encodable {
            let code: String?
            let name: String?
            let count: Int
            enum CodingKeys: String, CodingKey { case code, name, count }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(code, forKey: .code)
                try c.encode(name, forKey: .name)
                try c.encode(count, forKey: .count)
            }
        }

        struct Destination: Encodable {
            let kind: String?
            let code: String?
            let name: String?
            let count: Int
            enum CodingKeys: String, CodingKey { case kind, code, name, count }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(kind, forKey: .kind)
                try c.encode(code, forKey: .code)
                try c.encode(name, forKey: .name)
                try c.encode(count, forKey: .count)
            }
        }

        struct Child: Encodable {
            let ageBand: String
            let sex: String
            let count: Int
            enum CodingKeys: String, CodingKey { case ageBand = "age_band", sex, count }
        }

        struct Times: Encodable {
            let code: String?
            let name: String?
            let count: Int
            let median: Double
            let p90: Double
            /// The total has no commune: `code` and `name` are left out.
            let isTotal: Bool
            enum CodingKeys: String, CodingKey { case code, name, count, median = "median_minutes", p90 = "p90_minutes" }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                if !isTotal {
                    try c.encode(code, forKey: .code)
                    try c.encode(name, forKey: .name)
                }
                try c.encode(count, forKey: .count)
                try c.encode(median, forKey: .median)
                try c.encode(p90, forKey: .p90)
            }
        }

        struct TimeTable: Encodable {
            let all: Times?
            let communes: [Times]
            enum CodingKeys: String, CodingKey { case all, communes }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(all, forKey: .all)
                try c.encode(communes, forKey: .communes)
            }
        }

        /// Minutes to one decimal, as the CSV writes them.
        static func minutes(_ seconds: TimeInterval) -> Double { (seconds / 6).rounded() / 10 }

        func timeTable(_ table: Statistics.DurationTable, names: StatisticsReport.Names) -> TimeTable {
            func times(_ d: Statistics.Durations, total: Bool) -> Times {
                Times(code: d.area, name: names.communeName(d.area), count: d.count, median: Self.minutes(d.median), p90: Self.minutes(d.p90),
                      isTotal: total)
            }
            return TimeTable(all: table.all.map { times($0, total: true) }, communes: table.byCommune.map { times($0, total: false) })
        }

        func encode(to encoder: any Encoder) throws {
            let s = report.statistics
            let names = report.names
            func object(_ counts: [Statistics.Count], none: String = "unknown") -> [String: Int] {
                Dictionary(counts.map { ($0.value ?? none, $0.count) }, uniquingKeysWith: +)
            }
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(report.period.label, forKey: .period)
            try c.encode(ReportView.iso(report.period.since), forKey: .since)
            try c.encode(ReportView.iso(report.period.until), forKey: .until)
            try c.encode(report.area, forKey: .area)
            try c.encode(s.reports, forKey: .reports)
            try c.encode(object(s.channels), forKey: .channels)
            try c.encode(object(s.kinds), forKey: .kinds)
            try c.encode(object(s.urgency), forKey: .urgency)
            try c.encode(s.provinces.map { Named(code: $0.value, name: names.provinceName($0.value), count: $0.count) }, forKey: .provinces)
            try c.encode(s.communes.map { Named(code: $0.value, name: names.communeName($0.value), count: $0.count) }, forKey: .communes)
            try c.encode(s.children.map { Child(ageBand: $0.ageBand.rawValue, sex: $0.sex, count: $0.count) }, forKey: .children)
            try c.encode(s.destinations.map { count in
                let kind: String? = switch names.destinationDimension(count.value) {
                case "destination_province": "province"
                case "destination_country": "country"
                default: nil
                }
                return Destination(kind: kind, code: count.value, name: names.place(count.value)?.name, count: count.count)
            }, forKey: .destinations)
            try c.encode(s.closed, forKey: .closed)
            try c.encode(object(s.outcomes, none: "none"), forKey: .outcomes)
            try c.encode(timeTable(s.timeToAcknowledge, names: names), forKey: .timeToAcknowledge)
            try c.encode(timeTable(s.timeToClose, names: names), forKey: .timeToClose)
            try c.encode(object(s.escalations), forKey: .escalations)
        }
    }
}
