import Foundation
import TiplineCore

/// What happened to the reports received in a period, for the managers' monthly numbers: counted by the database
/// over columns kept in clear (no sealed value is opened), within the caller's scope.
///
/// Every number is about the reports *received* in the period (commands left out, reports kept for staff included);
/// what happened to them later — taken, closed, escalated — counts whenever it happened, up to the time of asking.
public struct Statistics: Sendable, Equatable {
    /// How many reports have one value of a dimension; `value` nil when the report has none (no commune, no code).
    public struct Count: Sendable, Equatable {
        public var value: String?
        public var count: Int
        public init(value: String?, count: Int) {
            self.value = value
            self.count = count
        }
    }

    /// Child age bands, as child helplines report them.
    public enum AgeBand: String, Sendable, CaseIterable {
        case under12 = "under_12"
        case age12to13 = "12_13"
        case age14to15 = "14_15"
        case age16to17 = "16_17"
        case adult = "18_plus"
        case unknown

        public init(age: Int?) {
            switch age {
            case nil: self = .unknown
            case let age? where age < 12: self = .under12
            case let age? where age < 14: self = .age12to13
            case let age? where age < 16: self = .age14to15
            case let age? where age < 18: self = .age16to17
            default: self = .adult
            }
        }
    }

    /// The sexes as counted: the parse's `female`/`male`, or `unknown`.
    public static let sexes = ["female", "male", "unknown"]

    /// Reports about children of one age band and sex.
    public struct ChildCount: Sendable, Equatable {
        public var ageBand: AgeBand
        /// `female`, `male` or `unknown`.
        public var sex: String
        public var count: Int
    }

    /// How long reports took to reach a step, in seconds: the median (the middle value, or the mean of the two middle
    /// ones) and the 90th percentile (nearest rank: the shortest time within which nine in ten were done).
    public struct Durations: Sendable, Equatable {
        /// The commune's code; nil for reports with no commune (or for the total).
        public var area: String?
        /// How many reports reached the step.
        public var count: Int
        public var median: TimeInterval
        public var p90: TimeInterval
    }

    /// Durations for every report, then per commune (most reports first).
    public struct DurationTable: Sendable, Equatable {
        public var all: Durations?
        public var byCommune: [Durations]
    }

    public var since: Date
    public var until: Date
    /// Reports received in the period.
    public var reports: Int
    /// By `via`: `sms`, `ussd` (always both), then any other.
    public var channels: [Count]
    /// `tip`, `alert`, `unknown`.
    public var kinds: [Count]
    /// `urgent`, `normal`.
    public var urgency: [Count]
    /// By province code (of the commune), most first; nil: no province known.
    public var provinces: [Count]
    /// By commune code, most first; nil: no commune known.
    public var communes: [Count]
    /// Every age band × sex, zeros included.
    public var children: [ChildCount]
    /// By destination code (a province or a country of `places.csv`), most first; nil: no known place.
    public var destinations: [Count]
    /// Reports closed (of those received in the period).
    public var closed: Int
    /// Closed reports by outcome code, every code in order and then nil (closed without a code).
    public var outcomes: [Count]
    /// From receipt to the first time someone took the case (the timeline's first `acknowledged`).
    public var timeToAcknowledge: DurationTable
    /// From receipt to the close.
    public var timeToClose: DurationTable
    /// Reports escalated at least once (`escalated`) and reports that reached "call now" (`call_now`).
    public var escalations: [Count]

    /// The median and the 90th percentile of `durations` (see ``Durations``); nil when there are none.
    public static func summary(_ durations: [TimeInterval]) -> (median: TimeInterval, p90: TimeInterval)? {
        guard !durations.isEmpty else { return nil }
        let sorted = durations.sorted()
        let n = sorted.count
        let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        let rank = Int((0.9 * Double(n)).rounded(.up))
        return (median, sorted[max(rank, 1) - 1])
    }
}

extension AppDatabase {
    /// The statistics of the reports received from `since` (included) to `until` (excluded), within `scope`: its
    /// `area` (a commune or a province code) and its caller's patch (`scopeAreas`, `scopeProvinces`), as for the log.
    /// Its other filters are not used.
    public func statistics(since: Date, until: Date, scope: ReportFilter = ReportFilter()) async throws -> Statistics {
        try await sqlRead { session in
            let (condition, arguments) = Self.statisticsCondition(since: since, until: until, scope: scope)
            // Counted by the database (a year may be a million reports). Grouped by position, not by the alias:
            // PostgreSQL reads a GROUP BY name as a column of `report` first, should the table ever have one so named.
            func counts(_ expression: String, extra: String = "") throws -> [Statistics.Count] {
                let rows = try session.rows("""
                    SELECT \(expression) AS value, COUNT(*) AS n FROM report WHERE \(condition) \(extra) GROUP BY 1
                    """, arguments)
                return rows.map { Statistics.Count(value: $0["value"].string, count: $0["n"].int ?? 0) }
            }
            func mostFirst(_ counts: [Statistics.Count]) -> [Statistics.Count] {
                counts.sorted { $0.count != $1.count ? $0.count > $1.count : ($0.value ?? "\u{10FFFF}") < ($1.value ?? "\u{10FFFF}") }
            }
            /// `found` in the order of `values` (zeros included), then any value not listed, most first.
            func fixed(_ found: [Statistics.Count], _ values: [String?]) -> [Statistics.Count] {
                let listed = values.map { value in Statistics.Count(value: value, count: found.first { $0.value == value }?.count ?? 0) }
                return listed + mostFirst(found.filter { !values.contains($0.value) })
            }

            let reports = try session.rows("SELECT COUNT(*) FROM report WHERE \(condition)", arguments).first?[0].int ?? 0
            let channels = fixed(try counts("report.via"), ["sms", "ussd"])
            let kinds = fixed(try counts("report.kind"), ["tip", "alert", "unknown"])
            let urgency = fixed(try counts("CASE WHEN report.urgent = 1 THEN 'urgent' ELSE 'normal' END"), ["urgent", "normal"])
            let provinces = mostFirst(try counts("report.province_code"))
            let communes = mostFirst(try counts("report.area_code"))
            let destinations = mostFirst(try counts("report.destination_code"))

            var children: [Statistics.ChildCount] = []
            let band = """
                CASE WHEN report.child_age IS NULL THEN 'unknown' WHEN report.child_age < 12 THEN 'under_12'
                     WHEN report.child_age < 14 THEN '12_13' WHEN report.child_age < 16 THEN '14_15'
                     WHEN report.child_age < 18 THEN '16_17' ELSE '18_plus' END
                """
            let childRows = try session.rows("""
                SELECT \(band) AS band, COALESCE(report.child_sex, 'unknown') AS sex, COUNT(*) AS n FROM report
                WHERE \(condition) GROUP BY 1, 2
                """, arguments)
            for ageBand in Statistics.AgeBand.allCases {
                for sex in Statistics.sexes {
                    let count = childRows.filter { $0["band"].string == ageBand.rawValue && ($0["sex"].string ?? "unknown") == sex }
                        .reduce(0) { $0 + ($1["n"].int ?? 0) }
                    children.append(Statistics.ChildCount(ageBand: ageBand, sex: sex, count: count))
                }
            }
            // A sex the parse does not know (none today) still counts, as unknown.
            let otherSexes = childRows.filter { !Statistics.sexes.contains($0["sex"].string ?? "unknown") }
            for row in otherSexes {
                let rowBand = row["band"].string
                if let index = children.firstIndex(where: { $0.ageBand.rawValue == rowBand && $0.sex == "unknown" }) {
                    children[index].count += row["n"].int ?? 0
                }
            }

            let closedCondition = "AND report.status = 'closed'"
            let outcomeCounts = try counts("report.outcome", extra: closedCondition)
            let outcomes = fixed(outcomeCounts, Outcome.allCases.map(\.rawValue) + [nil])
            let closed = outcomeCounts.reduce(0) { $0 + $1.count }

            // Durations: fetched per report (a month is a few hundred rows), summarised here.
            let acknowledged = try session.rows("""
                SELECT report.area_code AS area, report.received_at AS received,
                       COALESCE((SELECT MIN(e.at) FROM report_event e WHERE e.report_number = report.number AND e.kind = 'acknowledged'),
                                report.acknowledged_at) AS at
                FROM report WHERE \(condition)
                """, arguments)
            let closes = try session.rows("""
                SELECT report.area_code AS area, report.received_at AS received, report.closed_at AS at
                FROM report WHERE \(condition) \(closedCondition) AND report.closed_at IS NOT NULL
                """, arguments)

            let escalationRows = try session.rows("""
                SELECT e.kind AS value, COUNT(DISTINCT e.report_number) AS n
                FROM report_event e JOIN report ON report.number = e.report_number
                WHERE \(condition) AND e.kind IN ('escalated', 'call_now') GROUP BY e.kind
                """, arguments)
            let escalations = fixed(escalationRows.map { Statistics.Count(value: $0["value"].string, count: $0["n"].int ?? 0) },
                                    ["escalated", "call_now"])

            return Statistics(
                since: since, until: until, reports: reports, channels: channels, kinds: kinds, urgency: urgency,
                provinces: provinces, communes: communes, children: children, destinations: destinations,
                closed: closed, outcomes: outcomes,
                timeToAcknowledge: Self.durationTable(acknowledged), timeToClose: Self.durationTable(closes),
                escalations: escalations)
        }
    }

    /// The reports of the period within the scope, as SQL over `report` (its columns qualified, so it also serves
    /// a join with the timeline).
    static func statisticsCondition(since: Date, until: Date, scope: ReportFilter) -> (String, [SQLValue]) {
        var conditions = ["report.kind != 'command'", "report.received_at >= ?", "report.received_at < ?"]
        var arguments: [SQLValue] = [since.sqlValue, until.sqlValue]
        if let area = scope.area {
            conditions.append("(report.area_code = ? OR report.province_code = ?)")
            arguments += [area.sqlValue, area.sqlValue]
        }
        if let areas = scope.scopeAreas {
            // An empty list is a condition that is false (PostgreSQL takes neither `IN ()` nor `0` as one).
            func list(_ column: String, _ values: Set<String>) -> String {
                guard !values.isEmpty else { return "1 = 0" }
                arguments += values.sorted().map(\.sqlValue)
                return "\(column) IN (" + Array(repeating: "?", count: values.count).joined(separator: ", ") + ")"
            }
            let byArea = list("report.area_code", areas)
            let byProvince = list("report.province_code", scope.scopeProvinces)
            conditions.append("(\(byArea) OR \(byProvince))")
        }
        return (conditions.joined(separator: " AND "), arguments)
    }

    /// Rows of `area`, `received`, `at` (nil: the step not reached) to the durations of all and per commune.
    static func durationTable(_ rows: [SQLRow]) -> Statistics.DurationTable {
        var all: [TimeInterval] = []
        var byArea: [String?: [TimeInterval]] = [:]
        for row in rows {
            guard let received = row["received"].date, let at = row["at"].date else { continue }
            let duration = max(0, at.timeIntervalSince(received))
            all.append(duration)
            byArea[row["area"].string, default: []].append(duration)
        }
        func durations(_ area: String?, _ values: [TimeInterval]) -> Statistics.Durations? {
            Statistics.summary(values).map { Statistics.Durations(area: area, count: values.count, median: $0.median, p90: $0.p90) }
        }
        let communes = byArea.compactMap { durations($0.key, $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : ($0.area ?? "\u{10FFFF}") < ($1.area ?? "\u{10FFFF}") }
        return Statistics.DurationTable(all: durations(nil, all), byCommune: communes)
    }
}
