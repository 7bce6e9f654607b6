import Foundation

/// A value bound to a statement or read from a row, the same on both backends (SQLite through GRDB, PostgreSQL
/// through postgres-nio), so that the store's statements are written once.
///
/// Dates are their own case: SQLite keeps them as text (`YYYY-MM-DD HH:MM:SS.SSS`, UTC, as GRDB writes them),
/// PostgreSQL as `timestamptz`; booleans are integers 0 and 1 when read, whichever backend stored them.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case date(Date)
}

/// A Swift value that binds to a statement.
public protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension SQLValue: SQLBindable {
    public var sqlValue: SQLValue { self }
}

extension Int: SQLBindable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Int64: SQLBindable {
    public var sqlValue: SQLValue { .integer(self) }
}

extension Bool: SQLBindable {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

extension Double: SQLBindable {
    public var sqlValue: SQLValue { .real(self) }
}

extension String: SQLBindable {
    public var sqlValue: SQLValue { .text(self) }
}

extension Date: SQLBindable {
    public var sqlValue: SQLValue { .date(self) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One row of a result: its values in the statement's column order, found by name through the result's shared
/// column list.
public struct SQLRow: Sendable {
    public let layout: SQLColumns
    public let values: [SQLValue]

    public init(layout: SQLColumns, values: [SQLValue]) {
        self.layout = layout
        self.values = values
    }

    public init(columns: [String], values: [SQLValue]) {
        self.init(layout: SQLColumns(columns), values: values)
    }

    public var columns: [String] { layout.names }

    public subscript(_ index: Int) -> SQLValue { values[index] }

    /// The column's value; `.null` for a column the statement did not select.
    public subscript(_ column: String) -> SQLValue {
        guard let index = layout.index[column] else { return .null }
        return values[index]
    }
}

/// The column names of a result, shared by its rows.
public final class SQLColumns: Sendable {
    public let names: [String]
    let index: [String: Int]

    public init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (offset, name) in names.enumerated() where index[name] == nil { index[name] = offset }
        self.index = index
    }
}

extension SQLValue {
    public var isNull: Bool { self == .null }

    public var int: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .real(let value): Int(value)
        case .text(let text): Int(text)
        default: nil
        }
    }

    public var int64: Int64? { int.map(Int64.init) }

    public var bool: Bool? { int.map { $0 != 0 } }

    public var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        case .text(let text): Double(text)
        default: nil
        }
    }

    public var string: String? {
        switch self {
        case .text(let text): text
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .date(let date): SQLDate.text(date)
        case .null: nil
        }
    }

    public var date: Date? {
        switch self {
        case .date(let date): date
        case .text(let text): SQLDate.parse(text)
        case .integer(let seconds): Date(timeIntervalSince1970: Double(seconds))
        case .real(let seconds): Date(timeIntervalSince1970: seconds)
        default: nil
        }
    }
}

/// Dates as SQLite stores them (GRDB's format: `YYYY-MM-DD HH:MM:SS.SSS` in UTC), written and read without
/// Foundation's formatters.
enum SQLDate {
    static func text(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var days = milliseconds >= 0 ? milliseconds / 86_400_000 : (milliseconds - 86_399_999) / 86_400_000
        let rest = milliseconds - days * 86_400_000
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(23)
        func digits(_ value: Int64, _ count: Int) {
            var divisor: Int64 = 1
            for _ in 1..<count { divisor *= 10 }
            var value = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        digits(year, 4); bytes.append(UInt8(ascii: "-"))
        digits(month, 2); bytes.append(UInt8(ascii: "-"))
        digits(day, 2); bytes.append(UInt8(ascii: " "))
        digits(rest / 3_600_000, 2); bytes.append(UInt8(ascii: ":"))
        digits(rest / 60_000 % 60, 2); bytes.append(UInt8(ascii: ":"))
        digits(rest / 1000 % 60, 2); bytes.append(UInt8(ascii: "."))
        digits(rest % 1000, 3)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM`, `…:SS` or `…:SS.SSS` (a `T` may stand for the space), UTC.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int64? {
            guard start + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[start..<start + count] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), (1...12).contains(month), (1...31).contains(day) else { return nil }
        var seconds: Double = 0
        if bytes.count >= 16 {
            guard let hour = number(11, 2), let minute = number(14, 2) else { return nil }
            seconds = Double(hour * 3600 + minute * 60)
            if bytes.count >= 19 {
                guard let second = number(17, 2) else { return nil }
                seconds += Double(second)
                if bytes.count > 20 {
                    var fraction = 0.0, scale = 0.1
                    for byte in bytes[20...] where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                        fraction += Double(byte - UInt8(ascii: "0")) * scale
                        scale /= 10
                    }
                    seconds += fraction
                }
            }
        }
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: Double(days) * 86_400 + seconds)
    }
}
