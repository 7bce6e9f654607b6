import Foundation
import Hummingbird
import TiplineCore
import TiplineProviders
import TiplineStore

/// `statistics.mustache`: the numbers of a period within the staff member's patch — every table of
/// ``StatisticsReport``, each with a horizontal bar chart drawn on the server as inline SVG (no script; the
/// stylesheet colours it), and a month picker.
struct StatisticsPage: WebPage {
    static let template = "statistics"

    /// One bar of a chart, placed in the SVG's coordinates.
    struct Bar {
        let label: String
        let text: String
        /// The series' class (`s0`, `s1`, `s2`): its colour in the stylesheet.
        let series: String
        let labelX: Int
        let x: Int
        let y: Int
        let width: Int
        let height: Int
        let textY: Int
        let countX: Int
    }

    struct Legend {
        let series: String
        let label: String
    }

    struct Chart {
        let width: Int
        let height: Int
        let bars: [Bar]
        let legend: [Legend]
        /// Stored, for the template (reflection sees no computed property).
        let hasLegend: Bool
    }

    /// A cell: counted ones carry the CSV's dimension and value (`data-dimension`, `data-value`).
    struct Cell {
        let counted: Bool
        let dimension: String
        let value: String
        let text: String
    }

    struct Row {
        let label: String
        let cells: [Cell]
    }

    struct Table {
        let id: String
        let title: String
        let headers: [String]
        let rows: [Row]
        let chart: Chart?
    }

    let title = "Thống kê / Statistics"
    /// The period's name (`2026-11`) and its bounds in the deployment's time zone.
    let period: String
    let from: String
    let to: String
    /// The commune or province code asked for, if any.
    let area: String?
    /// The form's values.
    let month: String
    let since: String
    let until: String
    /// The query string, for the CSV link.
    let query: String
    /// What was wrong with the form, which is then ignored.
    let error: String?
    let tables: [Table]
}

extension StatisticsPage {
    // Chart geometry, in SVG user units.
    static let chartWidth = 720
    static let labelWidth = 250
    static let barMax = 380
    static let barHeight = 14
    static let rowGap = 6

    init(_ report: StatisticsReport, params: [String: String], error: String?, time: (Date) -> String) {
        self.init(
            period: report.period.label, from: time(report.period.since), to: time(report.period.until), area: report.area,
            month: report.period.month ?? "", since: params["since"] ?? "", until: params["until"] ?? "",
            query: FormBody.encode(params.filter { StatisticsReport.parameters.contains($0.key) }.sorted { $0.key < $1.key }),
            error: error,
            tables: report.tables.map(Self.table))
    }

    static func table(_ table: StatisticsReport.Table) -> Table {
        let rows = table.rows.map { row in
            Row(label: row.label, cells: row.cells.map { cell in
                Cell(counted: cell.line != nil, dimension: cell.line?.dimension ?? "", value: cell.line?.value ?? "", text: cell.text)
            })
        }
        return Table(id: table.id, title: table.title, headers: table.headers, rows: rows, chart: table.chart.flatMap { chart(table, $0) })
    }

    /// Horizontal bars: one per charted cell of each row, scaled to the table's largest value; nil when there is nothing to draw.
    static func chart(_ table: StatisticsReport.Table, _ style: StatisticsReport.ChartStyle) -> Chart? {
        let values = table.rows.flatMap { row in style.cells.compactMap { row.cells.indices.contains($0) ? row.cells[$0].line.flatMap { Double($0.count) } : nil } }
        guard !values.isEmpty else { return nil }
        let largest = values.max() ?? 0
        var bars: [Bar] = []
        var y = rowGap
        for row in table.rows {
            var first = true
            for (series, index) in style.cells.enumerated() {
                guard row.cells.indices.contains(index), let line = row.cells[index].line, let value = Double(line.count) else { continue }
                let width = largest > 0 ? max(value > 0 ? 1 : 0, Int((value / largest * Double(barMax)).rounded())) : 0
                let x = labelWidth + 4
                bars.append(Bar(label: first ? row.label : "", text: line.count, series: "s\(series)", labelX: labelWidth, x: x, y: y,
                                width: width, height: barHeight, textY: y + barHeight - 3, countX: x + width + 5))
                first = false
                y += barHeight + 2
            }
            y += rowGap
        }
        let legend = style.series.count > 1 ? style.series.enumerated().map { Legend(series: "s\($0.offset)", label: $0.element) } : []
        return Chart(width: chartWidth, height: y, bars: bars, legend: legend, hasLegend: !legend.isEmpty)
    }
}

/// The statistics page and its CSV, both narrowed to the signed-in staff member's patch; each read leaves one audit
/// entry with the period.
extension WebController {
    @Sendable func statistics(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let access = try reportAccess(context)
        let params = query(request)
        let current = deployment.current
        var error: String?
        var status: HTTPResponse.Status = .ok
        let report: StatisticsReport
        do {
            report = try await StatisticsReport.load(params, access: access, database: database, deployment: current, now: clock())
        } catch let failure as APIError {
            error = failure.message
            status = failure.status
            report = try await StatisticsReport.load([:], access: access, database: database, deployment: current, now: clock())
        }
        try await database.audit(access.staff, action: "view_statistics", target: nil,
                                 detail: report.auditDetail(via: "web") + (error == nil ? "" : "; filters=refused"), now: clock())
        let page = StatisticsPage(report, params: error == nil ? params : [:], error: error, time: local)
        return render(page, context: context, status: status)
    }

    @Sendable func statisticsExport(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let access = try reportAccess(context)
        guard access.mayExport else { throw HTTPError(.forbidden, message: "your role may not export reports") }
        let report = try await StatisticsReport.load(query(request), access: access, database: database, deployment: deployment.current,
                                                     now: clock())
        try await database.audit(access.staff, action: "export_statistics", target: nil, detail: report.auditDetail(via: "web"), now: clock())
        return report.csvResponse
    }
}
