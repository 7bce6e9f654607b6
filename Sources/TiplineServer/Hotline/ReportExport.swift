import Foundation
import Hummingbird
import TiplineStore

/// The CSV export of the log (web `GET /reports.csv`, API `GET /api/v1/reports.csv`), streamed: pages of reports are
/// read, masked for the caller and written as they go, so an export of 100,000 rows holds one page in memory, and
/// the first rows leave before the last are read.
///
/// One audit entry when the export ends, with the rows that went out (also when the caller hangs up midway).
enum ReportExport {
    /// Rows a page: one read transaction each, newest first, the next page starting below the last number.
    static let pageSize = 500
    /// Without `limit`, the newest 10,000 matching rows; `limit` may ask for up to 100,000.
    static let defaultRows = 10_000
    static let maxRows = 100_000

    static func response(_ access: StaffReportAccess, filter: AppDatabase.ReportFilter, database: AppDatabase,
                         audit: @escaping @Sendable (_ rows: Int) async throws -> Void) -> Response {
        let body = ResponseBody { writer in
            var rows = 0
            do {
                try await writer.write(ByteBuffer(string: ReportView.csvHeader))
                var page = filter
                page.urgentFirst = false
                while rows < filter.limit {
                    page.limit = min(pageSize, filter.limit - rows)
                    let reports = try await database.reports(page)
                    var text = ""
                    for report in reports { text += access.view(report).csvLine }
                    try await writer.write(ByteBuffer(string: text))
                    rows += reports.count
                    guard reports.count == page.limit, let last = reports.last?.number else { break }
                    page.before = last
                }
            } catch {
                try? await audit(rows)
                throw error
            }
            try await audit(rows)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                                               .contentDisposition: "attachment; filename=\"tipline-reports.csv\""],
                        body: body)
    }
}
