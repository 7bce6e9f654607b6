import Foundation
import GRDB
import TiplineCore

// MARK: - Reports

extension AppDatabase {
    public func report(number: Int) async throws -> Report? {
        try await dbRead { db in try Report.fetchOne(db, key: number) }
    }

    public func timeline(number: Int) async throws -> [ReportEvent] {
        try await dbRead { db in
            try ReportEvent.filter(ReportEvent.Columns.reportNumber == number).order(ReportEvent.Columns.at, Column("id")).fetchAll(db)
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
        try await dbRead { db in try Self.reports(filter, db) }
    }

    /// The log's rows. Newest first; or, for the hotline log (`urgentFirst`), the cases needing someone first — to call
    /// now, then still unacknowledged, urgent ones first — then the rest, each part newest first. Each part is read in
    /// index order and stops at what the limit leaves (`report_call_now`, `report_open`): no query sorts the table.
    static func reports(_ filter: ReportFilter, _ db: Database) throws -> [Report] {
        guard filter.urgentFirst else { return try reportRequest(filter, db).fetchAll(db) }
        let area = try filter.area.map { try AreaMatch($0, db) }
        var rows: [Report] = []
        for part in ["call_now = 1", "call_now = 0 AND status = 'open' AND urgent = 1", "call_now = 0 AND status = 'open' AND urgent = 0",
                     "call_now = 0 AND status != 'open'"] where rows.count < filter.limit {
            var rest = filter
            rest.limit = filter.limit - rows.count
            rows += try reportRequest(rest, db, extra: SQL(sql: part), area: area).fetchAll(db)
        }
        return rows
    }

    /// The filter as a request, newest first (`newestFirst: false`: unordered), `extra` a further condition.
    ///
    /// A search matches whole words through the full-text index of their blind indexes (`report_search`, over
    /// `search_key`): the text itself is sealed. The index drives the query, newest first, so a search stops at the
    /// limit instead of reading every report.
    /// Whether an `area=` code names communes' reports, a province's, both or none — looked up once a request.
    struct AreaMatch {
        let code: String
        let isArea: Bool
        let isProvince: Bool

        init(_ code: String, _ db: Database) throws {
            self.code = code
            isArea = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM report WHERE area_code = ?)", arguments: [code]) ?? false
            isProvince = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM report WHERE province_code = ?)", arguments: [code]) ?? false
        }
    }

    static func reportRequest(_ filter: ReportFilter, _ db: Database, extra: SQL? = nil, newestFirst: Bool = true,
                              area resolved: AreaMatch? = nil) throws -> QueryInterfaceRequest<Report> {
        var request = Report.all()
        if let since = filter.since { request = request.filter(Report.Columns.receivedAt >= since) }
        if let until = filter.until { request = request.filter(Report.Columns.receivedAt < until) }
        if !filter.statuses.isEmpty { request = request.filter(filter.statuses.contains(Report.Columns.status)) }
        if let kind = filter.kind { request = request.filter(Report.Columns.kind == kind) }
        if let urgent = filter.urgent { request = request.filter(Report.Columns.urgent == urgent) }
        if let area = filter.area {
            // A commune's code or a province's: each through its own index, in number order. As one OR of both
            // columns, no index served it and a commune with few reports read most of the table.
            let match = try resolved.flatMap { $0.code == area ? $0 : nil } ?? AreaMatch(area, db)
            switch (match.isArea, match.isProvince) {
            case (true, false): request = request.filter(Report.Columns.areaCode == area)
            case (false, true): request = request.filter(Report.Columns.provinceCode == area)
            case (false, false): return request.none()
            case (true, true): request = request.filter(Report.Columns.areaCode == area || Report.Columns.provinceCode == area)
            }
        }
        if let channel = filter.channel { request = request.filter(Report.Columns.channel == channel) }
        if let before = filter.before { request = request.filter(Report.Columns.number < before) }
        if let areas = filter.scopeAreas {
            request = request.filter(areas.contains(Report.Columns.areaCode) || filter.scopeProvinces.contains(Report.Columns.provinceCode))
        }
        if let extra { request = request.filter(extra) }
        request = request.limit(filter.limit)
        if let query = filter.query, !query.isEmpty {
            let cipher = try FieldCipher.inForce
            let words = Report.searchWords(query)
            guard !words.isEmpty else { return request.none() }
            // Each word's blind index, quoted: an FTS5 phrase of one token (the index keeps no positions, so a
            // phrase of two would be an error). A word in clear that the tokenizer splits (letters with combining
            // marks, as in Thai or Khmer script) is matched as each of its tokens, and then as the whole word.
            var tokens: [String] = []
            for word in words {
                let token = cipher.searchToken(word)
                let parts = cipher.indexKey == nil ? Self.indexTokens(token) : [token]
                tokens += parts
                if parts != [token] {
                    request = request.filter(Report.Columns.searchKey.like("% " + Self.escapedLike(token) + " %", escape: "\\"))
                }
            }
            guard !tokens.isEmpty else { return newestFirst ? request.order(Report.Columns.number.desc) : request }
            let match = tokens.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " AND ")
            let search = TableAlias(name: "report_search")
            request = request.joining(required: Report.search.aliased(search).filter(sql: "report_search MATCH ?", arguments: [match]))
            return newestFirst ? request.order(search[Column.rowID].desc) : request
        }
        return newestFirst ? request.order(Report.Columns.number.desc) : request
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
        try await dbRead { db in
            var filter = scope
            filter.statuses = []
            // Counted by the database, grouped by commune (no report is loaded), in the index of open cases: the
            // statuses written out as the index's own condition (as bound parameters, SQLite would not use it).
            let open = SQL(sql: "status IN ('open', 'acknowledged', 'home')")
            let rows = try Row.fetchAll(db, try Self.reportRequest(filter, db, extra: open, newestFirst: false).limit(Int.max)
                .select(Column("area_code"), count(Column("number")).forKey("n")).group(Column("area_code")).asRequest(of: Row.self))
            var counts: [String: Int] = [:]
            for row in rows { counts[row["area_code"] as String? ?? "?", default: 0] += row["n"] as Int }
            return counts.sorted { $0.value == $1.value ? $0.key < $1.key : $0.value > $1.value }.map { ($0.key, $0.value) }
        }
    }

    public func reportCount() async throws -> Int {
        try await dbRead { db in try Report.fetchCount(db) }
    }

    public func inboundCount() async throws -> Int {
        try await dbRead { db in try InboundMessage.fetchCount(db) }
    }
}

extension AppDatabase {
    public func reportCountsByStatus() async throws -> [Report.Status: Int] {
        try await dbRead { db in
            var counts: [Report.Status: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM report GROUP BY status") {
                if let status = Report.Status(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    /// Whether a write can be made now (for readiness): takes the write lock and rolls back.
    public func isWritable() async -> Bool {
        do {
            try await dbWriteWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                try db.execute(sql: "ROLLBACK")
            }
            return true
        } catch {
            return false
        }
    }
}
