import Foundation

/// A calendar day in the deployment's time zone, written `YYYY-MM-DD`.
public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// The day `instant` falls on in `timeZone`.
    public init(_ instant: Date, in timeZone: TimeZone) {
        let parts = LocalDate.calendar(timeZone).dateComponents([.year, .month, .day], from: instant)
        self.init(year: parts.year!, month: parts.month!, day: parts.day!)
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    public static func < (a: LocalDate, b: LocalDate) -> Bool {
        (a.year, a.month, a.day) < (b.year, b.month, b.day)
    }

    /// Whether the day exists (no 31/2).
    public var isValid: Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let utc = TimeZone(identifier: "UTC")!
        var parts = DateComponents(year: year, month: month, day: day)
        parts.timeZone = utc
        guard let date = LocalDate.calendar(utc).date(from: parts) else { return false }
        return LocalDate(date, in: utc) == self
    }

    public func adding(days: Int) -> LocalDate {
        let utc = TimeZone(identifier: "UTC")!
        let cal = LocalDate.calendar(utc)
        var parts = DateComponents(year: year, month: month, day: day, hour: 12)
        parts.timeZone = utc
        let date = cal.date(byAdding: .day, value: days, to: cal.date(from: parts)!)!
        return LocalDate(date, in: utc)
    }

    static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }
}
