import Foundation
import GRDB
import TiplineCore

// MARK: - Reports

extension AppDatabase {
    public func report(number: Int) async throws -> Report? {
        try await sqlRead { session in try session.fetch(Report.self, key: number) }
    }

    public func timeline(number: Int) async throws -> [ReportEvent] {
        try await sqlRead { session in
            try session.fetchAll(ReportEvent.self, "SELECT * FROM report_event WHERE report_number = ? ORDER BY at, id", number)
        }
    }

    /// A filter over the report log, shared by the API, the web pages and `tipline log`.
    public struct ReportFilter: Sendable {
        public var since: Date?
        public var until: Date?
        public var statuses: [Report.Status] = []
        public var kind: ParsedMessage.Kind?
        public var urgent: Bool?
        /// An area code, or a province code.
        public var area: String?
        public var channel: String?
        public var query: String?
        /// Show reports with a number below this one (the next page).
        public var before: Int?
        /// Limits what a caller may see: only these areas or provinces (nil: everything).
        public var scopeAreas: Set<String>?
        public var scopeProvinces: Set<String> = []
        /// Urgent and unacknowledged first (the hotline log), instead of newest first.
        public var urgentFirst = false
        public var limit: Int = 50

        public init() {}
    }

    public func reports(_ filter: ReportFilter) async throws -> [Report] {
        try await sqlRead { session in try Self.reports(filter, session) }
    }

    /// The log's rows. Newest first; or, for the hotline log (`urgentFirst`), the cases needing someone first — to call
    /// now, then still unacknowledged, urgent ones first — then the rest, each part newest first. Each part is read in
    /// index order and stops at what the limit leaves (`report_call_now`, `report_open`): no query sorts the table.
    static func reports(_ filter: ReportFilter, _ session: any SQLSession) throws -> [Report] {
        guard filter.urgentFirst else { return try reportQuery(filter, session).rows(session).map(Report.init(sqlRow:)) }
        let area = try filter.area.map { try AreaMatch($0, session) }
        var rows: [Report] = []
        for part in ["call_now = 1", "call_now = 0 AND status = 'open' AND urgent = 1", "call_now = 0 AND status = 'open' AND urgent = 0",
                     "call_now = 0 AND status != 'open'"] where rows.count < filter.limit {
            var rest = filter
            rest.limit = filter.limit - rows.count
            rows += try reportQuery(rest, session, extra: part, area: area).rows(session).map(Report.init(sqlRow:))
        }
        return rows
    }

    /// A query over the report log: its conditions with their arguments, ordered and limited when run.
    struct ReportQuery {
        var from = "report"
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        var order = "report.number DESC"
        var limit: Int?
        /// Nothing can match (an unknown area, a search of no words).
        var none = false

        mutating func filter(_ condition: String, _ values: SQLValue...) {
            conditions.append(condition)
            arguments += values
        }

        func sql(select: String = "report.*", groupBy: String? = nil) -> String {
            var sql = "SELECT \(select) FROM \(from)"
            if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
            if let groupBy { sql += " GROUP BY \(groupBy)" } else if !order.isEmpty { sql += " ORDER BY \(order)" }
            if let limit { sql += " LIMIT \(limit)" }
            return sql
        }

        func rows(_ session: any SQLSession, select: String = "report.*", groupBy: String? = nil) throws -> [SQLRow] {
            none ? [] : try session.rows(sql(select: select, groupBy: groupBy), arguments)
        }
    }

    /// The filter as a query, newest first (`newestFirst: false`: unordered), `extra` a further condition.
    ///
    /// A search matches whole words through the full-text index of their blind indexes (SQLite: `report_search`, an
    /// FTS5 table over `search_key`; PostgreSQL: a GIN index over the key's words): the text itself is sealed. On
    /// SQLite the index drives the query, newest first, so a search stops at the limit instead of reading every report.
    static func reportQuery(_ filter: ReportFilter, _ session: any SQLSession, extra: String? = nil, newestFirst: Bool = true,
                            area resolved: AreaMatch? = nil) throws -> ReportQuery {
        var query = ReportQuery()
        if let since = filter.since { query.filter("report.received_at >= ?", .date(since)) }
        if let until = filter.until { query.filter("report.received_at < ?", .date(until)) }
        if !filter.statuses.isEmpty {
            query.filter("report.status IN (\(marks(filter.statuses.count)))")
            query.arguments += filter.statuses.map { .text($0.rawValue) }
        }
        if let kind = filter.kind { query.filter("report.kind = ?", .text(kind.rawValue)) }
        if let urgent = filter.urgent { query.filter("report.urgent = ?", urgent.sqlValue) }
        if let area = filter.area {
            // A commune's code or a province's: each through its own index, in number order. As one OR of both
            // columns, no index served it and a commune with few reports read most of the table.
            let match = try resolved.flatMap { $0.code == area ? $0 : nil } ?? AreaMatch(area, session)
            switch (match.isArea, match.isProvince) {
            case (true, false): query.filter("report.area_code = ?", .text(area))
            case (false, true): query.filter("report.province_code = ?", .text(area))
            case (false, false): query.none = true
            case (true, true): query.filter("(report.area_code = ? OR report.province_code = ?)", .text(area), .text(area))
            }
        }
        if let channel = filter.channel { query.filter("report.channel = ?", .text(channel)) }
        if let before = filter.before { query.filter("report.number < ?", before.sqlValue) }
        if let areas = filter.scopeAreas {
            let provinces = filter.scopeProvinces.sorted()
            query.filter("(report.area_code IN (\(areas.isEmpty ? "NULL" : marks(areas.count))) OR report.province_code IN (\(provinces.isEmpty ? "NULL" : marks(provinces.count))))")
            query.arguments += areas.sorted().map(SQLValue.text) + provinces.map(SQLValue.text)
        }
        if let extra { query.conditions.append(extra) }
        query.limit = filter.limit
        query.order = newestFirst ? "report.number DESC" : ""
        if let text = filter.query, !text.isEmpty {
            let cipher = try FieldCipher.inForce
            let words = Report.searchWords(text)
            guard !words.isEmpty else {
                query.none = true
                return query
            }
            switch session.dialect {
            case .sqlite:
                // Each word's blind index, quoted: an FTS5 phrase of one token (the index keeps no positions, so a
                // phrase of two would be an error). A word in clear that the tokenizer splits (letters with combining
                // marks, as in Thai or Khmer script) is matched as each of its tokens, and then as the whole word.
                var tokens: [String] = []
                for word in words {
                    let token = cipher.searchToken(word)
                    let parts = cipher.indexKey == nil ? Self.indexTokens(token) : [token]
                    tokens += parts
                    if parts != [token] { query.filter("report.search_key LIKE ? ESCAPE '\\'", .text("% " + Self.escapedLike(token) + " %")) }
                }
                guard !tokens.isEmpty else { return query }
                let match = tokens.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " AND ")
                query.from = "report JOIN report_search ON report_search.rowid = report.number"
                query.filter("report_search MATCH ?", .text(match))
                if newestFirst { query.order = "report_search.rowid DESC" }
            case .postgresql:
                // Every word among the key's words: the GIN index over them (PostgresSchema.searchWords).
                query.filter("\(PostgresSchema.searchWords("search_key")) @> string_to_array(?, ' ')",
                             .text(words.map { cipher.searchToken($0) }.joined(separator: " ")))
            }
        }
        return query
    }

    /// Whether an `area=` code names communes' reports, a province's, both or none — looked up once a request.
    struct AreaMatch {
        let code: String
        let isArea: Bool
        let isProvince: Bool

        init(_ code: String, _ session: any SQLSession) throws {
            self.code = code
            isArea = try session.value("SELECT EXISTS (SELECT 1 FROM report WHERE area_code = ?)", code).bool ?? false
            isProvince = try session.value("SELECT EXISTS (SELECT 1 FROM report WHERE province_code = ?)", code).bool ?? false
        }
    }

    static func marks(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// The tokens `report_search`'s tokenizer (`unicode61 tokenchars ':'`) makes of a word: runs of letters,
    /// digits, private-use characters and colons; anything else (a combining mark) separates.
    static func indexTokens(_ word: String) -> [String] {
        var tokens: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in word.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                 .decimalNumber, .letterNumber, .otherNumber, .privateUse:
                current.append(scalar)
            default:
                if scalar == ":" {
                    current.append(scalar)
                } else if !current.isEmpty {
                    tokens.append(String(current))
                    current = String.UnicodeScalarView()
                }
            }
        }
        if !current.isEmpty { tokens.append(String(current)) }
        return tokens
    }

    static func escapedLike(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
    }

    /// Open cases per commune, for the log page.
    public func openCasesByArea(scope: ReportFilter) async throws -> [(area: String, count: Int)] {
        try await sqlRead { session in
            var filter = scope
            filter.statuses = []
            // Counted by the database, grouped by commune (no report is loaded), in the index of open cases: the
            // statuses written out as the index's own condition (as bound parameters, SQLite would not use it).
            var query = try Self.reportQuery(filter, session, extra: "report.status IN ('open', 'acknowledged', 'home')", newestFirst: false)
            query.limit = nil
            let rows = try query.rows(session, select: "report.area_code, COUNT(report.number) AS n", groupBy: "report.area_code")
            var counts: [String: Int] = [:]
            for row in rows { counts[row["area_code"].string ?? "?", default: 0] += row["n"].int ?? 0 }
            return counts.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map { ($0.key, $0.value) }
        }
    }

    public func reportCount() async throws -> Int {
        try await sqlRead { session in try session.value("SELECT COUNT(*) FROM report").int ?? 0 }
    }

    public func inboundCount() async throws -> Int {
        try await sqlRead { session in try session.value("SELECT COUNT(*) FROM inbound_message").int ?? 0 }
    }
}

extension AppDatabase {
    public func reportCountsByStatus() async throws -> [Report.Status: Int] {
        try await sqlRead { session in
            var counts: [Report.Status: Int] = [:]
            for row in try session.rows("SELECT status, COUNT(*) AS n FROM report GROUP BY status") {
                if let status = row["status"].decode(Report.Status.self) { counts[status] = row["n"].int ?? 0 }
            }
            return counts
        }
    }

    /// Whether a write can be made now (for readiness): on SQLite, takes the write lock and rolls back.
    public func isWritable() async -> Bool {
        do {
            switch backend {
            case .sqlite:
                try await dbWriteWithoutTransaction { db in
                    try db.execute(sql: "BEGIN IMMEDIATE")
                    try db.execute(sql: "ROLLBACK")
                }
            case .postgres(let postgres):
                // The database answers and is a primary (a standby refuses writes). Not the cluster's write lock:
                // a load balancer asking every few seconds would queue behind the intake.
                return try await postgres.isPrimary()
            }
            return true
        } catch {
            return false
        }
    }
}
