import Foundation
import TiplineCore

/// Everything a running tipline reads from `config/`: settings, reference data, roster and replies, checked together.
///
/// Each file has its reader (``SettingsFile``, ``AreasFile``, ``PlacesFile``, ``VocabularyFile``, ``RosterFile``,
/// ``RepliesFile``, ``EscalationFile``, ``UssdFile``); they note their problems in one ``ConfigProblems``, so one
/// check reports every problem of every file.
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

    /// Loads and checks the whole deployment; throws every problem found, in every file, as ``ConfigErrors``.
    public static func load(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Deployment {
        var problems = ConfigProblems()
        guard let settings = SettingsFile.read(path: configPath, environment: environment, problems: &problems) else {
            throw ConfigErrors(errors: problems.errors)
        }
        let deployment = read(settings: settings, problems: &problems)
        try problems.throwIfAny()
        return deployment
    }

    /// The settings file alone (with its secrets), checked: for commands that only read the database and need no
    /// roster, reference data or replies (`tipline log` answers in half the time without them).
    public static func loadSettings(configPath: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Settings {
        var problems = ConfigProblems()
        guard let settings = SettingsFile.read(path: configPath, environment: environment, problems: &problems) else {
            throw ConfigErrors(errors: problems.errors)
        }
        try problems.throwIfAny()
        return settings
    }

    /// Loads and checks the files `settings` names (a reload keeps the settings); throws every problem found.
    public static func load(settings: Settings) throws -> Deployment {
        var problems = ConfigProblems()
        let deployment = read(settings: settings, problems: &problems)
        try problems.throwIfAny()
        return deployment
    }

    /// Reads every file `settings` names, noting every problem; what cannot be read is left empty or built in.
    static func read(settings: Settings, problems: inout ConfigProblems) -> Deployment {
        var areas: [Area] = []
        if let text = contents(of: settings.areasPath, setting: "reference.areas", settings: settings, problems: &problems) {
            areas = AreasFile.read(text, file: settings.areasPath, problems: &problems)
        }
        var places: [Place] = []
        if let text = contents(of: settings.placesPath, setting: "reference.places", settings: settings, problems: &problems) {
            places = PlacesFile.read(text, file: settings.placesPath, problems: &problems)
        }
        let gazetteer = Gazetteer(areas: areas, places: places)

        var vocabulary = Vocabulary.standard
        if FileManager.default.fileExists(atPath: settings.vocabularyPath),
           let text = contents(of: settings.vocabularyPath, setting: "reference.vocabulary", settings: settings, problems: &problems) {
            vocabulary = VocabularyFile.read(text, file: settings.vocabularyPath, problems: &problems)
        }
        var roster = DutyRoster(officers: [], timeZone: settings.timeZone)
        if let text = contents(of: settings.rosterPath, setting: "reference.roster", settings: settings, problems: &problems) {
            roster = RosterFile.read(text, file: settings.rosterPath, gazetteer: gazetteer, timeZone: settings.timeZone, problems: &problems)
        }
        var replies = ReplyCatalogue(texts: [:])
        if let text = contents(of: settings.repliesPath, setting: "reference.replies", settings: settings, problems: &problems) {
            replies = RepliesFile.read(text, file: settings.repliesPath, problems: &problems)
        }
        var escalation = EscalationPolicies(standard: .standard(timeZone: settings.timeZone), provinces: [:])
        if FileManager.default.fileExists(atPath: settings.escalationPath),
           let text = contents(of: settings.escalationPath, setting: "reference.escalation", settings: settings, problems: &problems) {
            escalation = EscalationFile.read(text, file: settings.escalationPath, timeZone: settings.timeZone,
                                             provinces: Set(areas.map(\.provinceCode)), problems: &problems)
        }
        var ussdCatalogue = UssdCatalogue(texts: [:])
        if FileManager.default.fileExists(atPath: settings.ussdPath) || !settings.ussdChannels.isEmpty,
           let text = contents(of: settings.ussdPath, setting: "reference.ussd", settings: settings, problems: &problems) {
            ussdCatalogue = UssdFile.read(text, file: settings.ussdPath, problems: &problems)
        }

        // The USSD destination menu offers fixed place codes: each must be in places.csv, or a number picks nothing.
        let ussd = UssdMenu(gazetteer: gazetteer, catalogue: ussdCatalogue)
        if !settings.ussdChannels.isEmpty, !places.isEmpty {
            let missing = UssdMenu.destinationCodes.filter { code in !places.contains { $0.code == code } }
            if !missing.isEmpty {
                problems.add(ConfigError(file: settings.placesPath, key: "code",
                                         problem: "the USSD destination menu offers \(missing.joined(separator: ", ")), not in this file: add those places (code,name,…)"))
            }
        }

        var warnings: [String] = []
        if !settings.cipher.isOn {
            warnings.append("encryption: off in \(settings.configPath): children's names, villages and phone numbers are stored in clear (docs/operations.md, Keys)")
        }
        let uncovered = areas.filter { area in !roster.officers.contains { $0.role == .officer && $0.covers(area) } }
        if !uncovered.isEmpty {
            let provinces = Set(uncovered.map(\.province)).sorted().joined(separator: ", ")
            warnings.append("\(uncovered.count) of \(areas.count) communes have no officer in \(settings.rosterPath) (\(provinces)); their reports go to the province supervisors")
        }
        return Deployment(settings: settings, gazetteer: gazetteer, roster: roster, replies: replies,
                          parser: ReportParser(gazetteer: gazetteer, vocabulary: vocabulary, timeZone: settings.timeZone), escalation: escalation,
                          ussd: ussd, warnings: warnings)
    }

    /// The text of a file the settings name; nil, with a problem on that setting, when it cannot be read.
    static func contents(of path: String, setting key: String, settings: Settings, problems: inout ConfigProblems) -> String? {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            problems.add(ConfigError(file: settings.configPath, key: key, problem: "cannot read '\(path)': \(error.localizedDescription)"))
            return nil
        }
    }
}
