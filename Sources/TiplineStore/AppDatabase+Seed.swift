import Foundation
import GRDB

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
        try await dbRead { db in try Self.highestReportNumber(db) }
    }

    static func highestReportNumber(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: """
            SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'report'), 0), COALESCE((SELECT MAX(number) FROM report), 0))
            """) ?? 0
    }

    /// Writes seeded reports, numbered in increasing order, with their inbound messages (marked as reporting them),
    /// timelines and outbox rows, in one transaction. Refuses when a report has taken one of their numbers since they
    /// were counted (the daemon is running).
    public func seed(_ reports: [SeedReport]) async throws {
        guard let first = reports.first?.report.number, let last = reports.last?.report.number else { return }
        try await dbWrite { db in
            let highest = try Self.highestReportNumber(db)
            guard highest < first else { throw SeedConflict(number: first, highest: highest) }
            for var seeded in reports {
                try seeded.report.insert(db)
                try seeded.inbound.insert(db)
                for var event in seeded.events { try event.insert(db) }
                for var message in seeded.outbox { try message.insert(db) }
            }
            try db.execute(sql: "UPDATE inbound_message SET reported = 1 WHERE report_number BETWEEN ? AND ?", arguments: [first, last])
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
        try await dbWrite { db in
            for var message in messages { try message.insert(db) }
        }
    }
}
