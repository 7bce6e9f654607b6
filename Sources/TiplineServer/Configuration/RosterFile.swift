import Foundation
import TiplineCore

/// `config/roster.yaml`: officers, the areas they cover, their shifts and exceptions.
enum RosterFile {
    static let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    /// Reads the roster, noting every problem; an officer with a problem is left out.
    static func read(_ text: String, file: String, gazetteer: Gazetteer, timeZone: TimeZone, problems: inout ConfigProblems) -> DutyRoster {
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: file, text: text)
        } catch {
            problems.add(error)
            return DutyRoster(officers: [], timeZone: timeZone)
        }
        let found = problems.count
        var taken = Taken()
        var officers: [Officer] = []
        let items = problems.value([]) { try yaml.items("officers") }
        for (_, item) in items {
            if let officer = officer(item, gazetteer: gazetteer, taken: &taken, problems: &problems) {
                officers.append(officer)
            }
        }
        if problems.count == found {
            if officers.isEmpty {
                problems.add(ConfigError(file: file, key: "officers", problem: "the roster has no officers: nobody would be alerted"))
            } else if !officers.contains(where: { $0.role == .hotline }) {
                problems.add(ConfigError(file: file, key: "officers", problem: "add at least one officer with role: hotline, the last resort for every report"))
            }
        }
        return DutyRoster(officers: officers, timeZone: timeZone)
    }

    /// Ids and phone numbers already used by an officer above.
    struct Taken {
        var ids = Set<String>()
        var phones = Set<String>()
    }

    /// One officer; nil when anything about it has a problem.
    static func officer(_ item: YAMLReader, gazetteer: Gazetteer, taken: inout Taken, problems: inout ConfigProblems) -> Officer? {
        let found = problems.count
        let id = problems.value("") { try item.requiredString("id", hint: "a short unique id such as lungcu-police") }
        if !id.isEmpty, !taken.ids.insert(id).inserted {
            problems.add(item.error("id", "'\(id)' is used by another officer"))
        }
        let name = problems.value("") { try item.requiredString("name", hint: "the officer's name") }
        let rawPhone = problems.value("") { try item.requiredString("phone", hint: "the officer's mobile number") }
        var phone = ""
        if !rawPhone.isEmpty {
            if let normalised = PhoneNumber.normalise(rawPhone) {
                phone = normalised
                if !taken.phones.insert(phone).inserted {
                    problems.add(item.error("phone", "\(PhoneNumber.mask(phone)) is used by another officer"))
                }
            } else {
                problems.add(item.error("phone", "'\(rawPhone)' is not a phone number (write +84912345678 or 0912345678)"))
            }
        }
        let role = problems.value(Officer.Role.officer) { try item.choice("role", default: Officer.Role.officer) }
        let coverageFound = problems.count
        let areas = problems.value([]) { try item.stringList("areas") }
        for code in areas where gazetteer.area(code: code) == nil {
            problems.add(item.error("areas", "'\(code)' is not an area code in areas.csv"))
        }
        let provinceCodes = Set(gazetteer.areas.map(\.provinceCode))
        let provinces = problems.value([]) { try item.stringList("provinces") }
        for code in provinces where !provinceCodes.contains(code) {
            problems.add(item.error("provinces", "'\(code)' is not a province code in areas.csv (known: \(provinceCodes.sorted().joined(separator: ", ")))"))
        }
        if role == .officer, areas.isEmpty, provinces.isEmpty, problems.count == coverageFound {
            problems.add(item.error("areas", "an officer must cover at least one area (areas: [code, …]) or province"))
        }
        var shifts: [Shift] = []
        let shiftItems = problems.value([]) { try item.items("shifts") }
        for (_, entry) in shiftItems {
            if let parsed = problems.attempt({ try Self.shift(entry) }) { shifts.append(parsed) }
        }
        var exceptions: [DutyException] = []
        let exceptionItems = problems.value([]) { try item.items("exceptions") }
        for (_, entry) in exceptionItems {
            if let parsed = problems.attempt({ try Self.exception(entry) }) { exceptions.append(parsed) }
        }
        let language = problems.value(ParsedMessage.Language.vi) { try item.choice("language", default: ParsedMessage.Language.vi) }
        guard problems.count == found else { return nil }
        return Officer(id: id, name: name, phone: phone, role: role, areas: Set(areas), provinces: Set(provinces),
                       shifts: shifts, exceptions: exceptions, language: language)
    }

    /// One shift: the days it starts on, from, to (`HH:MM+1` for the next day).
    static func shift(_ shift: YAMLReader) throws(ConfigError) -> Shift {
        var days = Set<Int>()
        for item in try shift.stringList("days") {
            let parts = item.lowercased().split(separator: "-").map(String.init)
            guard parts.allSatisfy({ RosterFile.days[$0] != nil }), (1...2).contains(parts.count) else {
                throw shift.error("days", "'\(item)' is not a day or range of days (mon, tue, …, sun; mon-fri)")
            }
            let first = RosterFile.days[parts[0]]!, last = RosterFile.days[parts.last!]!
            var day = first
            while true {
                days.insert(day)
                if day == last { break }
                day = day % 7 + 1
            }
        }
        if days.isEmpty { throw shift.error("days", "is missing: the days the shift starts on (mon-fri)") }
        let fromText = try shift.requiredString("from", hint: "the start time, HH:MM")
        let toText = try shift.requiredString("to", hint: "the end time, HH:MM, or HH:MM+1 for the next day")
        guard let start = minutes(fromText), start < 1440 else { throw shift.error("from", "'\(fromText)' is not a time HH:MM") }
        let nextDay = toText.hasSuffix("+1")
        guard let end = minutes(nextDay ? String(toText.dropLast(2)) : toText), end <= 1440 else {
            throw shift.error("to", "'\(toText)' is not a time HH:MM (or HH:MM+1 for the next day)")
        }
        if nextDay {
            guard end <= start else { throw shift.error("to", "'\(toText)' with +1 would make the shift longer than a day") }
        } else if end <= start {
            throw shift.error("to", "the shift ends (\(toText)) before it starts (\(fromText)); write \"\(toText)+1\" for a shift that runs past midnight")
        }
        return Shift(days: days, start: start, end: end == 1440 ? 0 : end)
    }

    /// One exception: days off (leave, holiday) or an extra day on duty.
    static func exception(_ exception: YAMLReader) throws(ConfigError) -> DutyException {
        let fromText = try exception.requiredString("from", hint: "the first day, YYYY-MM-DD")
        guard let from = date(fromText) else { throw exception.error("from", "'\(fromText)' is not a date YYYY-MM-DD") }
        let toText = try exception.string("to", default: fromText)
        guard let to = date(toText) else { throw exception.error("to", "'\(toText)' is not a date YYYY-MM-DD") }
        guard from <= to else { throw exception.error("to", "ends (\(toText)) before it starts (\(fromText))") }
        let duty = try exception.string("duty", default: "off")
        guard duty == "off" || duty == "on" else { throw exception.error("duty", "must be off (leave, holiday) or on (an extra day), not '\(duty)'") }
        return DutyException(from: from, to: to, onDuty: duty == "on", note: try exception.string("note"))
    }

    /// Minutes after midnight of `HH:MM` (24:00 allowed, as an end).
    static func minutes(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let hours = Int(parts[0]), let minutes = Int(parts[1]), (0...24).contains(hours), (0..<60).contains(minutes) else { return nil }
        return hours * 60 + minutes
    }

    static func date(_ text: String) -> LocalDate? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        let date = LocalDate(year: parts[0], month: parts[1], day: parts[2])
        return date.isValid ? date : nil
    }
}
