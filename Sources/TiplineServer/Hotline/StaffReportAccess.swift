import Foundation
import TiplineCore
import TiplineStore

/// What one staff identity may do with the report log — asked by the web pages and `/api/v1` alike, so the two can
/// never disagree on who sees what.
///
/// Officers work a patch: they list, read and export only the reports of the communes and provinces their roster entry
/// covers (or cases given to them by name), and see phone numbers masked. Hotline staff and admins see everything.
/// An officer identity whose roster entry is gone sees nothing rather than everything.
struct StaffReportAccess {
    let staff: StaffIdentity
    /// The roster entry that scopes an officer; nil for the other roles, and for an officer the roster no longer has.
    let officer: Officer?
    /// For telling whether an asked-for commune lies in a province the officer covers.
    let gazetteer: Gazetteer

    init(_ staff: StaffIdentity, in deployment: Deployment) {
        self.staff = staff
        self.officer = staff.role == .officer ? staff.officerID.flatMap(deployment.roster.officer(id:)) : nil
        self.gazetteer = deployment.gazetteer
    }

    /// Whether this identity is held to its roster entry's patch.
    var isScoped: Bool { staff.role == .officer }

    // MARK: - Reading

    /// Whether this identity may open `report`: in its patch, or given to it.
    func mayRead(_ report: Report) -> Bool {
        guard isScoped else { return true }
        guard let officer else { return false }
        return report.areaCode.map(officer.areas.contains) == true || report.provinceCode.map(officer.provinces.contains) == true
            || report.assignedTo == officer.id
    }

    /// Narrows a log filter to this identity's patch; asking for a commune or province outside it is refused (403)
    /// rather than quietly answered with nothing.
    func scope(_ filter: inout AppDatabase.ReportFilter) throws {
        guard isScoped else { return }
        let areas = officer?.areas ?? []
        let provinces = officer?.provinces ?? []
        filter.scopeAreas = areas
        filter.scopeProvinces = provinces
        if let area = filter.area, !areas.contains(area), !provinces.contains(area),
           !(gazetteer.area(code: area).map { provinces.contains($0.provinceCode) } ?? false) {
            throw APIError(.forbidden, "area: \(area) is outside the areas you cover")
        }
    }

    /// `filter` narrowed by ``scope(_:)``.
    func scoped(_ filter: AppDatabase.ReportFilter) throws -> AppDatabase.ReportFilter {
        var filter = filter
        try scope(&filter)
        return filter
    }

    /// Only the patch: every report this identity may list, for counts such as open cases per commune.
    var patch: AppDatabase.ReportFilter {
        var filter = AppDatabase.ReportFilter()
        try? scope(&filter) // cannot throw: no area is asked for
        return filter
    }

    // MARK: - Exporting

    /// Whether this identity may download the log as CSV. Every role may: an export holds only what ``scope(_:)``
    /// lets it list, masked as ``view(_:)`` masks it, and every export is audited by the caller.
    var mayExport: Bool { true }

    // MARK: - Masking

    /// Whether phone numbers — reporters' and other officers' — show in full. Officers see them masked, so a
    /// reporter's number does not travel further than the hotline.
    var seesPhoneNumbers: Bool { staff.seesReporterNumbers }

    /// A phone number as this identity may see it.
    func phone(_ number: String) -> String {
        seesPhoneNumbers ? number : PhoneNumber.mask(number)
    }

    /// A report as this identity may see it.
    func view(_ report: Report) -> ReportView {
        ReportView(report: report, showReporter: seesPhoneNumbers)
    }

    // MARK: - Acting

    /// Whether this identity may give a case to another officer: hotline staff and admins dispatch, officers do not.
    var mayReassign: Bool { staff.role != .officer }
}
