import Foundation

/// A person who can receive alerts and use officer commands.
public struct Officer: Sendable, Hashable {
    public enum Role: String, Sendable, CaseIterable {
        /// Commune police, social-affairs officers, Women's Union staff: alerted for the areas they cover.
        case officer
        /// Province level: alerted when a commune has nobody on duty, and on escalation.
        case supervisor
        /// Hotline staff: the last resort, and readers of the log.
        case hotline
    }

    public var id: String
    public var name: String
    /// E.164.
    public var phone: String
    public var role: Role
    /// Area codes covered.
    public var areas: Set<String>
    /// Province codes covered whole.
    public var provinces: Set<String>
    /// Weekly shifts; none means always on duty.
    public var shifts: [Shift]
    /// Dated exceptions (leave, holidays, extra days).
    public var exceptions: [DutyException]
    /// The language of the alerts and reminders this officer receives.
    public var language: ParsedMessage.Language

    public init(id: String, name: String, phone: String, role: Role, areas: Set<String> = [], provinces: Set<String> = [],
                shifts: [Shift] = [], exceptions: [DutyException] = [], language: ParsedMessage.Language = .vi) {
        self.language = language
        self.id = id
        self.name = name
        self.phone = phone
        self.role = role
        self.areas = areas
        self.provinces = provinces
        self.shifts = shifts
        self.exceptions = exceptions
    }

    public func covers(_ area: Area) -> Bool {
        areas.contains(area.code) || provinces.contains(area.provinceCode)
    }

    public func covers(province: String) -> Bool {
        provinces.contains(province)
    }

    /// Whether the roster puts this officer on duty at `instant`.
    public func isOnDuty(at instant: Date, in timeZone: TimeZone) -> Bool {
        let local = LocalTime(instant, in: timeZone)
        if let exception = exceptions.last(where: { $0.contains(local.date) }) {
            return exception.onDuty
        }
        if shifts.isEmpty { return true }
        return shifts.contains { $0.covers(local) }
    }
}

/// A weekly shift in the deployment's time zone; one that ends at or before its start runs past midnight.
public struct Shift: Sendable, Hashable {
    /// ISO weekdays the shift starts on: 1 Monday … 7 Sunday.
    public var days: Set<Int>
    /// Minutes after midnight.
    public var start: Int
    public var end: Int

    public init(days: Set<Int>, start: Int, end: Int) {
        self.days = days
        self.start = start
        self.end = end
    }

    public var crossesMidnight: Bool { end <= start }

    func covers(_ time: LocalTime) -> Bool {
        if !crossesMidnight {
            return days.contains(time.weekday) && time.minutes >= start && time.minutes < end
        }
        let previous = time.weekday == 1 ? 7 : time.weekday - 1
        return (days.contains(time.weekday) && time.minutes >= start) || (days.contains(previous) && time.minutes < end)
    }
}

/// A dated exception to the weekly shifts: off (leave, holiday) or on (an extra day).
public struct DutyException: Sendable, Hashable {
    public var from: LocalDate
    public var to: LocalDate
    public var onDuty: Bool
    public var note: String?

    public init(from: LocalDate, to: LocalDate, onDuty: Bool, note: String? = nil) {
        self.from = from
        self.to = to
        self.onDuty = onDuty
        self.note = note
    }

    func contains(_ date: LocalDate) -> Bool { from <= date && date <= to }
}

/// A moment as the roster sees it: local day, ISO weekday and minutes after midnight.
struct LocalTime {
    var date: LocalDate
    var weekday: Int
    var minutes: Int

    init(_ instant: Date, in timeZone: TimeZone) {
        let calendar = LocalDate.calendar(timeZone)
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: instant)
        date = LocalDate(year: parts.year!, month: parts.month!, day: parts.day!)
        weekday = (parts.weekday! + 5) % 7 + 1 // Calendar: 1 = Sunday; ISO: 1 = Monday
        minutes = parts.hour! * 60 + parts.minute!
    }
}

/// Who is on duty where, and who a report goes to.
public struct DutyRoster: Sendable {
    public let officers: [Officer]
    public let timeZone: TimeZone

    public init(officers: [Officer], timeZone: TimeZone) {
        self.officers = officers
        self.timeZone = timeZone
    }

    /// Where a report was sent, and why.
    public struct Routing: Sendable, Equatable {
        public enum Level: String, Sendable {
            /// Officers on duty for the commune.
            case commune
            /// Nobody on duty in the commune, or the commune is unknown: the province's supervisors.
            case province
            /// Nobody else: hotline staff.
            case hotline
        }
        public var level: Level
        public var officers: [Officer]
    }

    public func officer(phone: String) -> Officer? {
        officers.first { $0.phone == phone }
    }

    public func officer(id: String) -> Officer? {
        officers.first { $0.id == id }
    }

    /// Officers covering `area` and on duty at `instant`.
    public func onDuty(in area: Area, at instant: Date, extraOnDuty: Set<String> = [], offDuty: Set<String> = []) -> [Officer] {
        officers.filter { officer in
            officer.role == .officer && officer.covers(area) && isOnDuty(officer, at: instant, extraOnDuty: extraOnDuty, offDuty: offDuty)
        }
    }

    func isOnDuty(_ officer: Officer, at instant: Date, extraOnDuty: Set<String>, offDuty: Set<String>) -> Bool {
        if offDuty.contains(officer.id) { return false }
        if extraOnDuty.contains(officer.id) { return true }
        return officer.isOnDuty(at: instant, in: timeZone)
    }

    /// The first level that has somebody: commune officers on duty, then the province's supervisors, then hotline.
    public func route(area: Area?, provinceCode: String? = nil, at instant: Date,
                      extraOnDuty: Set<String> = [], offDuty: Set<String> = []) -> Routing {
        if let area {
            let local = onDuty(in: area, at: instant, extraOnDuty: extraOnDuty, offDuty: offDuty)
            if !local.isEmpty { return Routing(level: .commune, officers: local) }
        }
        if let province = area?.provinceCode ?? provinceCode {
            let supervisors = officers.filter {
                $0.role == .supervisor && $0.covers(province: province) && isOnDuty($0, at: instant, extraOnDuty: extraOnDuty, offDuty: offDuty)
            }
            if !supervisors.isEmpty { return Routing(level: .province, officers: supervisors) }
        }
        let hotline = officers.filter { $0.role == .hotline && isOnDuty($0, at: instant, extraOnDuty: extraOnDuty, offDuty: offDuty) }
        return Routing(level: .hotline, officers: hotline.isEmpty ? officers.filter { $0.role == .hotline } : hotline)
    }
}
