import Foundation

/// A report `tipline seed` writes for scale tests, with the rows the intake would have left beside it.
public struct SeedReport: Sendable {
    /// Numbered (after ``AppDatabase/highestReportNumber()``), and best sealed ahead (``Report/seal(with:)``).
    public var report: Report
    public var inbound: InboundMessage
    public var events: [ReportEvent]
    public var outbox: [OutboundMessage]

    public init(report: Report, inbound: InboundMessage, events: [ReportEvent], outbox: [OutboundMessage]) {
        self.report = report
        self.inbound = inbound
        self.events = events
        self.outbox = outbox
    }
}

extension AppDatabase {
    /// The highest report number given so far, deleted reports included: new numbers continue after it.
    public func highestReportNumber() async throws -> Int {
        try await sqlRead { session in try Self.highestReportNumber(session) }
    }

    static func highestReportNumber(_ session: any SQLSession) throws -> Int {
        switch session.dialect {
        case .sqlite:
            return try session.value("""
                SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'report'), 0), COALESCE((SELECT MAX(number) FROM report), 0))
                """).int ?? 0
        case .postgresql:
            // The identity sequence numbering reports: the last number it gave, or the one before its first.
            return try session.value("""
                SELECT GREATEST(COALESCE(last_value, start_value - 1), COALESCE((SELECT MAX(number) FROM report), 0)) FROM pg_sequences
                WHERE format('%I.%I', schemaname, sequencename)::regclass = pg_get_serial_sequence('report', 'number')::regclass
                """).int ?? 0
        }
    }

    /// Writes seeded reports, numbered in increasing order, with their inbound messages (marked as reporting them),
    /// timelines and outbox rows, in one transaction. Refuses when a report has taken one of their numbers since they
    /// were counted (the daemon is running).
    public func seed(_ reports: [SeedReport]) async throws {
        guard let first = reports.first?.report.number, let last = reports.last?.report.number else { return }
        try await sqlWrite { session in
            let highest = try Self.highestReportNumber(session)
            guard highest < first else { throw SeedConflict(number: first, highest: highest) }
            // Table by table (the reports before the events that refer to them), each table's rows in the reports' order.
            try session.insertAll(reports.map(\.report))
            try session.insertAll(reports.map(\.inbound))
            try session.insertAll(reports.flatMap(\.events))
            try session.insertAll(reports.flatMap(\.outbox))
            try session.execute("UPDATE inbound_message SET reported = 1 WHERE report_number BETWEEN ? AND ?", first, last)
            if session.dialect == .postgresql {
                // A number given does not move PostgreSQL's identity sequence (SQLite's AUTOINCREMENT follows the
                // largest key): set it to the last seeded, so that the intake's next report is numbered after it.
                try session.execute("SELECT setval(pg_get_serial_sequence('report', 'number'), ?)", last)
            }
        }
    }

    public struct SeedConflict: Error, CustomStringConvertible {
        public let number: Int
        public let highest: Int
        public var description: String {
            "report number \(number) is taken (the highest is now \(highest)): stop the daemon while seeding"
        }
    }
}

extension AppDatabase {
    /// Queues outbound messages as given (due at once), in one transaction: a backlog for measuring the dispatcher
    /// (`tipline seed --queued`).
    public func seedQueued(_ messages: [OutboundMessage]) async throws {
        try await sqlWrite { session in try session.insertAll(messages) }
    }
}

extension SQLSession {
    /// Inserts records, as many a statement as 999 bound values allow (SQLite's lowest limit), their keys not read
    /// back: seeding writes hundreds of thousands of rows, and on PostgreSQL each statement is a round trip. A table
    /// gets a few statement texts however many rows it is given (the SQLite session caches them): the full one, and
    /// for the rest chunks of 2ⁿ rows. A record whose columns differ from the one before (its key given or not)
    /// starts anew.
    fileprivate func insertAll<Record: SQLRecord>(_ records: [Record]) throws {
        var names: [String] = []
        var values: [SQLValue] = []
        var pending = 0, perStatement = 1
        var statements: [Int: String] = [:]
        func flush() throws {
            var offset = 0
            while pending > 0 {
                let rows = pending == perStatement ? pending : 1 << (Int.bitWidth - 1 - pending.leadingZeroBitCount)
                if statements[rows] == nil {
                    let row = "(" + Array(repeating: "?", count: names.count).joined(separator: ", ") + ")"
                    statements[rows] = "INSERT INTO \(Record.tableName) (\(names.joined(separator: ", "))) VALUES "
                        + Array(repeating: row, count: rows).joined(separator: ", ")
                }
                try execute(statements[rows]!, Array(values[offset..<offset + rows * names.count]))
                offset += rows * names.count
                pending -= rows
            }
            values.removeAll(keepingCapacity: true)
        }
        for record in records {
            // The generated key is left out while nil, as `insert` does.
            let columns = try record.sqlColumns().filter { !($0.0 == Record.keyColumn && $0.1 == .null) }
            if !columns.lazy.map(\.0).elementsEqual(names) {
                try flush()
                names = columns.map(\.0)
                perStatement = max(1, 999 / names.count)
                statements = [:]
            }
            values.append(contentsOf: columns.lazy.map(\.1))
            pending += 1
            if pending == perStatement { try flush() }
        }
        try flush()
    }
}
