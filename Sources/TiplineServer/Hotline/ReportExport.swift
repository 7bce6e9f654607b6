import Foundation
import Hummingbird
import TiplineStore

/// The CSV export of the log (web `GET /reports.csv`, API `GET /api/v1/reports.csv`), streamed: pages of reports are
/// read, masked for the caller and written as they go, so an export of 100,000 rows holds one page in memory, and
/// the first rows leave before the last are read.
///
/// One audit entry per export, written before the first row leaves and completed with the rows sent.
enum ReportExport {
    /// Rows a page: one read transaction each, newest first, the next page starting below the last number.
    static let pageSize = 500
    /// Without `limit`, the newest 10,000 matching rows; `limit` may ask for up to 100,000.
    static let defaultRows = 10_000
    static let maxRows = 100_000

    /// `detail` describes the export with its row count (``ReportQuery/auditDetail``): the entry is written before the
    /// first byte leaves (`rows=0; streaming`, so an export cut short by a crash is still on record) and completed
    /// with the rows sent when the stream ends, however it ends, in a task the caller's hang-up does not cancel.
    static func response(_ access: StaffReportAccess, filter: AppDatabase.ReportFilter, database: AppDatabase, now: Date,
                         detail: @escaping @Sendable (_ rows: Int) -> String) async throws -> Response {
        let entry = try await database.audit(access.staff, action: "export_csv", target: nil, detail: detail(0) + "; streaming", now: now)
        let complete: @Sendable (Int, _ cutShort: Bool) async -> Void = { rows, cutShort in
            await Task { try? await database.completeAudit(entry, detail: detail(rows) + (cutShort ? "; cut short" : "")) }.value
        }
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
                    rows += reports.count // counted before it leaves: a page cut off midway was (partly) sent
                    try await writer.write(ByteBuffer(string: text))
                    guard reports.count == page.limit, let last = reports.last?.number else { break }
                    page.before = last
                }
            } catch {
                // The 200 and the first rows are gone: the connection closes without the chunked body's end, which
                // clients report as an incomplete download (not a short file that looks whole); the audit says so.
                await complete(rows, true)
                throw error
            }
            await complete(rows, false)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                                               .contentDisposition: "attachment; filename=\"tipline-reports.csv\""],
                        body: body)
    }
}
