import Foundation
import TiplineCore
import Yams

/// Everything a running tipline reads from `config/`: settings, reference data, roster and replies, checked together.
public struct Deployment: Sendable {
    public var settings: Settings
    public var gazetteer: Gazetteer
    public var roster: DutyRoster
    public var replies: ReplyCatalogue
    public var parser: ReportParser
    public var escalation: EscalationPolicies
    public var ussd: UssdMenu
    /// Things worth knowing that do not stop the daemon (communes nobody covers).
    public var warnings: [String]

    /// Loads and checks the whole deployment; throws every problem found.
    public static func load(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Deployment {
        let settings = try Settings.load(path: configPath, environment: environment)
        return try load(settings: settings)
    }

    public static func load(settings: Settings) throws -> Deployment {
        var errors: [ConfigError] = []
        func read(_ path: String, key: String) -> String? {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                errors.append(ConfigError(file: settings.configPath, key: key, problem: "cannot read '\(path)': \(error.localizedDescription)"))
                return nil
            }
        }
        var areas: [Area] = []
        var places: [Place] = []
        if let text = read(settings.areasPath, key: "reference.areas") {
            do { areas = try ReferenceData.areas(csv: text) } catch {
                errors.append(ConfigError(file: settings.areasPath, key: "", problem: "\(error)"))
            }
        }
        if let text = read(settings.placesPath, key: "reference.places") {
            do { places = try ReferenceData.places(csv: text) } catch {
                errors.append(ConfigError(file: settings.placesPath, key: "", problem: "\(error)"))
            }
        }
        let gazetteer = Gazetteer(areas: areas, places: places)
        var vocabulary = Vocabulary.standard
        if FileManager.default.fileExists(atPath: settings.vocabularyPath), let text = read(settings.vocabularyPath, key: "reference.vocabulary") {
            do {
                vocabulary = try VocabularyFile.parse(text, file: settings.vocabularyPath)
            } catch {
                errors.append(error)
            }
        }
        var roster = DutyRoster(officers: [], timeZone: settings.timeZone)
        if let text = read(settings.rosterPath, key: "reference.roster") {
            do {
                roster = try RosterFile.parse(text, file: settings.rosterPath, gazetteer: gazetteer, timeZone: settings.timeZone)
            } catch let error as ConfigErrors {
                errors += error.errors
            } catch let error as ConfigError {
                errors.append(error)
            }
        }
        var replies = ReplyCatalogue(texts: [:])
        if let text = read(settings.repliesPath, key: "reference.replies") {
            do {
                replies = try ReplyFile.parse(text, file: settings.repliesPath)
            } catch let error as ConfigErrors {
                errors += error.errors
            } catch let error as ConfigError {
                errors.append(error)
            }
        }
        var escalation = EscalationPolicies(standard: .standard(timeZone: settings.timeZone), provinces: [:])
        if FileManager.default.fileExists(atPath: settings.escalationPath), let text = read(settings.escalationPath, key: "reference.escalation") {
            do {
                escalation = try EscalationFile.parse(text, file: settings.escalationPath, timeZone: settings.timeZone,
                                                      provinces: Set(areas.map(\.provinceCode)))
            } catch {
                errors.append(error)
            }
        }
        var ussdCatalogue = UssdCatalogue(texts: [:])
        if FileManager.default.fileExists(atPath: settings.ussdPath) || !settings.ussdChannels.isEmpty,
           let text = read(settings.ussdPath, key: "reference.ussd") {
            do {
                ussdCatalogue = try UssdFile.parse(text, file: settings.ussdPath)
            } catch let error as ConfigErrors {
                errors += error.errors
            } catch let error as ConfigError {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors: errors) }

        var warnings: [String] = []
        let uncovered = areas.filter { area in !roster.officers.contains { $0.role == .officer && $0.covers(area) } }
        if !uncovered.isEmpty {
            let provinces = Set(uncovered.map(\.province)).sorted().joined(separator: ", ")
            warnings.append("\(uncovered.count) of \(areas.count) communes have no officer in \(settings.rosterPath) (\(provinces)); their reports go to the province supervisors")
        }
        return Deployment(settings: settings, gazetteer: gazetteer, roster: roster, replies: replies,
                          parser: ReportParser(gazetteer: gazetteer, vocabulary: vocabulary, timeZone: settings.timeZone), escalation: escalation,
                          ussd: UssdMenu(gazetteer: gazetteer, catalogue: ussdCatalogue), warnings: warnings)
    }
}

/// `config/roster.yaml`: officers, the areas they cover, their shifts and exceptions.
enum RosterFile {
    static let days = ["mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7]

    static func parse(_ text: String, file: String, gazetteer: Gazetteer, timeZone: TimeZone) throws -> DutyRoster {
        let yaml = try YAMLReader(file: file, text: text)
        var officers: [Officer] = []
        var errors: [ConfigError] = []
        var ids = Set<String>()
        var phones = Set<String>()
        let provinceCodes = Set(gazetteer.areas.map(\.provinceCode))
        for (path, item) in try yaml.items("officers") {
            do {
                func fail(_ key: String, _ problem: String) -> ConfigError {
                    ConfigError(file: file, line: item.node(key)?.mark.map { $0.line } ?? item.line, key: "\(path).\(key)", problem: problem)
                }
                let id = try item.requiredString("id", hint: "a short unique id such as lungcu-police")
                guard ids.insert(id).inserted else { throw fail("id", "'\(id)' is used by another officer") }
                let name = try item.requiredString("name", hint: "the officer's name")
                let rawPhone = try item.requiredString("phone", hint: "the officer's mobile number")
                guard let phone = PhoneNumber.normalise(rawPhone) else {
                    throw fail("phone", "'\(rawPhone)' is not a phone number (write +84912345678 or 0912345678)")
                }
                guard phones.insert(phone).inserted else { throw fail("phone", "\(PhoneNumber.mask(phone)) is used by another officer") }
                let role = try item.choice("role", default: Officer.Role.officer)
                let areas = try item.stringList("areas")
                for code in areas where gazetteer.area(code: code) == nil {
                    throw fail("areas", "'\(code)' is not an area code in areas.csv")
                }
                let provinces = try item.stringList("provinces")
                for code in provinces where !provinceCodes.contains(code) {
                    throw fail("provinces", "'\(code)' is not a province code in areas.csv (known: \(provinceCodes.sorted().joined(separator: ", ")))")
                }
                if role == .officer, areas.isEmpty, provinces.isEmpty {
                    throw fail("areas", "an officer must cover at least one area (areas: [code, …]) or province")
                }
                var shifts: [Shift] = []
                for (shiftPath, shift) in try item.items("shifts") {
                    shifts.append(try parseShift(shift, path: "\(path).\(shiftPath)", file: file))
                }
                var exceptions: [DutyException] = []
                for (exceptionPath, exception) in try item.items("exceptions") {
                    exceptions.append(try parseException(exception, path: "\(path).\(exceptionPath)", file: file))
                }
                let language = try item.choice("language", default: ParsedMessage.Language.vi)
                officers.append(Officer(id: id, name: name, phone: phone, role: role, areas: Set(areas), provinces: Set(provinces),
                                        shifts: shifts, exceptions: exceptions, language: language))
            } catch let error as ConfigError {
                errors.append(error.key.hasPrefix("officers") ? error : ConfigError(file: error.file, line: error.line, key: "\(path).\(error.key)", problem: error.problem))
            }
        }
        if officers.isEmpty, errors.isEmpty {
            errors.append(ConfigError(file: file, key: "officers", problem: "the roster has no officers: nobody would be alerted"))
        }
        if !officers.contains(where: { $0.role == .hotline }), errors.isEmpty {
            errors.append(ConfigError(file: file, key: "officers", problem: "add at least one officer with role: hotline, the last resort for every report"))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors: errors) }
        return DutyRoster(officers: officers, timeZone: timeZone)
    }

    static func parseShift(_ shift: YAMLReader, path: String, file: String) throws(ConfigError) -> Shift {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(file: file, line: shift.node(key)?.mark.map { $0.line } ?? shift.line, key: "\(path).\(key)", problem: problem)
        }
        var days = Set<Int>()
        for item in try shift.stringList("days") {
            let parts = item.lowercased().split(separator: "-").map(String.init)
            guard parts.allSatisfy({ RosterFile.days[$0] != nil }), (1...2).contains(parts.count) else {
                throw fail("days", "'\(item)' is not a day or range of days (mon, tue, …, sun; mon-fri)")
            }
            let first = RosterFile.days[parts[0]]!, last = RosterFile.days[parts.last!]!
            var day = first
            while true {
                days.insert(day)
                if day == last { break }
                day = day % 7 + 1
            }
        }
        if days.isEmpty { throw fail("days", "is missing: the days the shift starts on (mon-fri)") }
        let fromText = try shift.requiredString("from", hint: "the start time, HH:MM")
        let toText = try shift.requiredString("to", hint: "the end time, HH:MM, or HH:MM+1 for the next day")
        guard let start = minutes(fromText), start < 1440 else { throw fail("from", "'\(fromText)' is not a time HH:MM") }
        let nextDay = toText.hasSuffix("+1")
        guard let end = minutes(nextDay ? String(toText.dropLast(2)) : toText), end <= 1440 else {
            throw fail("to", "'\(toText)' is not a time HH:MM (or HH:MM+1 for the next day)")
        }
        if nextDay {
            guard end < start || (end <= start) else { throw fail("to", "'\(toText)' with +1 would make the shift longer than a day") }
        } else if end <= start {
            throw fail("to", "the shift ends (\(toText)) before it starts (\(fromText)); write \"\(toText)+1\" for a shift that runs past midnight")
        }
        return Shift(days: days, start: start, end: end == 1440 ? 0 : end)
    }

    static func parseException(_ exception: YAMLReader, path: String, file: String) throws(ConfigError) -> DutyException {
        func fail(_ key: String, _ problem: String) -> ConfigError {
            ConfigError(file: file, line: exception.node(key)?.mark.map { $0.line } ?? exception.line, key: "\(path).\(key)", problem: problem)
        }
        let fromText = try exception.requiredString("from", hint: "the first day, YYYY-MM-DD")
        guard let from = date(fromText) else { throw fail("from", "'\(fromText)' is not a date YYYY-MM-DD") }
        let toText = try exception.string("to", default: fromText)
        guard let to = date(toText) else { throw fail("to", "'\(toText)' is not a date YYYY-MM-DD") }
        guard from <= to else { throw fail("to", "ends (\(toText)) before it starts (\(fromText))") }
        let duty = try exception.string("duty", default: "off")
        guard duty == "off" || duty == "on" else { throw fail("duty", "must be off (leave, holiday) or on (an extra day), not '\(duty)'") }
        return DutyException(from: from, to: to, onDuty: duty == "on", note: try exception.string("note"))
    }

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

/// `config/replies.yaml`: reply texts by language and key.
enum ReplyFile {
    static func parse(_ text: String, file: String) throws -> ReplyCatalogue {
        let yaml = try YAMLReader(file: file, text: text)
        var texts: [ParsedMessage.Language: [ReplyCatalogue.Key: String]] = [:]
        var errors: [ConfigError] = []
        for language in try yaml.keys("") {
            guard let lang = ParsedMessage.Language(rawValue: language) else {
                errors.append(yaml.error(language, "unknown language (known: vi, en)"))
                continue
            }
            for key in try yaml.keys(language) {
                guard let replyKey = ReplyCatalogue.Key(rawValue: key) else {
                    errors.append(yaml.error("\(language).\(key)", "unknown reply key"))
                    continue
                }
                texts[lang, default: [:]][replyKey] = try yaml.string("\(language).\(key)")
            }
        }
        let catalogue = ReplyCatalogue(texts: texts)
        for problem in catalogue.problems() {
            let path = "\(problem.language.rawValue).\(problem.key)"
            errors.append(ConfigError(file: file, line: yaml.node(path)?.mark.map { $0.line }, key: path, problem: problem.problem))
        }
        guard errors.isEmpty else { throw ConfigErrors(errors: errors) }
        return catalogue
    }
}

/// The escalation policy in force, with a province's own where it has one.
public struct EscalationPolicies: Sendable {
    public var standard: EscalationPolicy
    public var provinces: [String: EscalationPolicy]

    public func policy(province: String?) -> EscalationPolicy {
        province.flatMap { provinces[$0] } ?? standard
    }
}

/// `config/escalation.yaml`.
enum EscalationFile {
    static func parse(_ text: String, file: String, timeZone: TimeZone, provinces: Set<String>) throws(ConfigError) -> EscalationPolicies {
        let yaml = try YAMLReader(file: file, text: text)
        let fallback = EscalationPolicy.standard(timeZone: timeZone)
        func tracks(_ base: String, defaults: EscalationPolicy) throws(ConfigError) -> EscalationPolicy {
            var policy = defaults
            let prefix = base.isEmpty ? "" : base + "."
            if yaml.node(prefix + "urgent") != nil { policy.urgent = try track(prefix + "urgent", defaults: defaults.urgent) }
            if yaml.node(prefix + "normal") != nil { policy.normal = try track(prefix + "normal", defaults: defaults.normal) }
            return policy
        }
        func track(_ path: String, defaults: EscalationPolicy.Track) throws(ConfigError) -> EscalationPolicy.Track {
            var levels: [EscalationPolicy.Level] = []
            for (levelPath, level) in try yaml.items(path + ".levels") {
                let minutes = try level.double("after_minutes", default: -1, range: -1...100_000)
                guard minutes > 0 else {
                    throw ConfigError(file: file, line: level.line, key: "\(levelPath).after_minutes", problem: "is missing or not above 0: minutes after the previous level")
                }
                var targets: [EscalationPolicy.Target] = []
                for name in try level.stringList("to") {
                    guard let target = EscalationPolicy.Target(rawValue: name) else {
                        throw ConfigError(file: file, line: level.node("to")?.mark.map { $0.line }, key: "\(levelPath).to",
                                          problem: "'\(name)' is not a target (commune, province, hotline)")
                    }
                    targets.append(target)
                }
                guard !targets.isEmpty else {
                    throw ConfigError(file: file, line: level.line, key: "\(levelPath).to", problem: "is missing: who this level alerts (commune, province, hotline)")
                }
                levels.append(.init(delay: minutes * 60, targets: targets))
            }
            var quiet: (Int, Int)?
            if yaml.node(path + ".quiet_hours") != nil {
                let from = try yaml.requiredString(path + ".quiet_hours.from", hint: "HH:MM")
                let to = try yaml.requiredString(path + ".quiet_hours.to", hint: "HH:MM")
                guard let start = RosterFile.minutes(from), let end = RosterFile.minutes(to) else {
                    throw yaml.error(path + ".quiet_hours", "from and to must be times HH:MM")
                }
                quiet = (start, end)
            }
            return EscalationPolicy.Track(
                levels: levels.isEmpty ? defaults.levels : levels,
                repeats: try yaml.int(path + ".repeat", default: defaults.repeats, range: 0...10),
                quietHours: quiet ?? (yaml.node(path + ".quiet_hours") == nil ? defaults.quietHours : nil),
                reminderAfter: try yaml.double(path + ".reminder_after_hours", default: defaults.reminderAfter / 3600, range: 0.01...10_000) * 3600
            )
        }
        let standard = try tracks("", defaults: fallback)
        var byProvince: [String: EscalationPolicy] = [:]
        for code in try yaml.keys("provinces") {
            guard provinces.contains(code) else {
                throw yaml.error("provinces.\(code)", "'\(code)' is not a province code in areas.csv (known: \(provinces.sorted().joined(separator: ", ")))")
            }
            byProvince[code] = try tracks("provinces.\(code)", defaults: standard)
        }
        return EscalationPolicies(standard: standard, provinces: byProvince)
    }
}

/// `config/ussd.yaml`: the USSD screens by language and key.
enum UssdFile {
    static func parse(_ text: String, file: String) throws -> UssdCatalogue {
        let yaml = try YAMLReader(file: file, text: text)
        var texts: [ParsedMessage.Language: [String: String]] = [:]
        var errors: [ConfigError] = []
        for language in ParsedMessage.Language.allCases {
            for key in UssdCatalogue.keys {
                guard let value = try yaml.string("\(language.rawValue).\(key)") else {
                    errors.append(ConfigError(file: file, key: "\(language.rawValue).\(key)", problem: "missing"))
                    continue
                }
                if SMSText.gsm7Septets(value) == nil {
                    errors.append(yaml.error("\(language.rawValue).\(key)", "not GSM-7 (remove diacritics and special characters)"))
                }
                texts[language, default: [:]][key] = value
            }
        }
        guard errors.isEmpty else { throw ConfigErrors(errors: errors) }
        return UssdCatalogue(texts: texts)
    }
}

/// `config/vocabulary.yaml`: the grammar's words; each list given replaces the built-in one.
enum VocabularyFile {
    static func parse(_ text: String, file: String) throws(ConfigError) -> Vocabulary {
        let yaml = try YAMLReader(file: file, text: text)
        var vocabulary = Vocabulary.standard
        func words(_ key: String) throws(ConfigError) -> [String]? {
            guard yaml.node(key) != nil else { return nil }
            let values = try yaml.stringList(key).map { TextFolding.fold($0).split(separator: " ").joined(separator: " ") }
            if values.isEmpty { throw yaml.error(key, "is empty: remove it to keep the built-in list") }
            return values
        }
        if yaml.node("keywords") != nil {
            var keywords: [String: Vocabulary.Keyword] = [:]
            for intentName in try yaml.keys("keywords") {
                let intent: Vocabulary.Intent
                switch intentName {
                case "tip": intent = .tip
                case "alert": intent = .alert
                default:
                    guard let command = ParsedMessage.Command(rawValue: intentName) else {
                        throw yaml.error("keywords.\(intentName)", "unknown intent (tip, alert, \(ParsedMessage.Command.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    intent = .command(command)
                }
                for language in try yaml.keys("keywords.\(intentName)") {
                    guard let lang = ParsedMessage.Language(rawValue: language) else {
                        throw yaml.error("keywords.\(intentName).\(language)", "unknown language (vi, en)")
                    }
                    for word in try words("keywords.\(intentName).\(language)") ?? [] {
                        if let existing = keywords[word], existing.intent != intent {
                            throw yaml.error("keywords.\(intentName).\(language)", "'\(word)' already means another intent")
                        }
                        keywords[word] = .init(intent, lang)
                    }
                }
            }
            vocabulary.keywords = keywords
        }
        if let list = try words("age_units") { vocabulary.ageUnits = Set(list) }
        if let list = try words("age_words") { vocabulary.ageWords = Set(list) }
        if let list = try words("female") { vocabulary.female = Set(list) }
        if let list = try words("male") { vocabulary.male = Set(list) }
        if let list = try words("male_after_age") { vocabulary.maleAfterAge = Set(list) }
        if let list = try words("village_markers") { vocabulary.villageMarkers = Set(list) }
        if let list = try words("commune_markers") { vocabulary.communeMarkers = Set(list) }
        if let list = try words("district_markers") { vocabulary.districtMarkers = Set(list) }
        if let list = try words("destination_markers") { vocabulary.destinationMarkers = Set(list) }
        if let list = try words("destination_fillers") { vocabulary.destinationFillers = Set(list) }
        if let list = try words("companion_markers") { vocabulary.companionMarkers = Set(list) }
        if let list = try words("child_nouns") { vocabulary.childNouns = Set(list) }
        if let list = try words("name_stops") { vocabulary.nameStops = Set(list) }
        if let list = try words("urgent_phrases") { vocabulary.urgentPhrases = list }
        if yaml.node("tags") != nil {
            var tags: [String: Vocabulary.Tag] = [:]
            for word in try yaml.keys("tags") {
                let name = try yaml.string("tags.\(word)") ?? ""
                guard let tag = Vocabulary.Tag(rawValue: name) else {
                    throw yaml.error("tags.\(word)", "'\(name)' is not a field (\(["name", "age", "sex", "village", "commune", "province", "destination", "date", "companion", "phone"].joined(separator: ", ")))")
                }
                tags[TextFolding.fold(word)] = tag
            }
            vocabulary.tags = tags
        }
        return vocabulary
    }
}
