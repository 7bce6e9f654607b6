import Foundation
import Hummingbird
import TiplineStore

/// `GET /api/v1/statistics` and `/api/v1/statistics.csv`: the numbers of a period (a month by default) within the
/// caller's patch, as JSON or as the long CSV. Each read leaves one audit entry with the period.
extension ReportsAPIController {
    /// The statistics the query string asks for, narrowed to what the caller may see (403 outside its patch).
    func statisticsReport(_ request: Request, context: TiplineRequestContext) async throws -> (StaffReportAccess, StatisticsReport) {
        let access = try access(for: staff(context))
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        let report = try await StatisticsReport.load(query, access: access, database: database, deployment: deployment.current, now: clock())
        return (access, report)
    }

    @Sendable func statistics(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (access, report) = try await statisticsReport(request, context: context)
        try await database.audit(access.staff, action: "view_statistics", target: nil, detail: report.auditDetail(via: "api"), now: clock())
        return try json(report.jsonBody)
    }

    @Sendable func statisticsCSV(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (access, report) = try await statisticsReport(request, context: context)
        guard access.mayExport else { throw APIError(.forbidden, "your role may not export reports") }
        try await database.audit(access.staff, action: "export_statistics", target: nil, detail: report.auditDetail(via: "api"), now: clock())
        return report.csvResponse
    }
}

extension StatisticsReport {
    /// The CSV as a download (`tipline-statistics-2026-11.csv`), kept out of caches.
    var csvResponse: Response {
        let name = period.month.map { "tipline-statistics-\($0).csv" } ?? "tipline-statistics.csv"
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                                               .contentDisposition: "attachment; filename=\"\(name)\""],
                        body: .init(byteBuffer: ByteBuffer(string: csv)))
    }
}
