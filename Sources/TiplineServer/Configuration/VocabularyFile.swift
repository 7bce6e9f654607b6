import TiplineCore

/// `config/vocabulary.yaml`: the grammar's words; each list given replaces the built-in one.
///
/// A new list in ``Vocabulary`` is one line in ``lists()``.
enum VocabularyFile {
    /// How a list's entries are read.
    enum Form {
        /// Words (a multi-word entry is kept, space-joined).
        case words
        /// Words or two-word phrases: the grammar looks no further.
        case phrases
    }

    /// The word lists by key, in file order.
    static func lists() -> [(key: String, form: Form, list: WritableKeyPath<Vocabulary, Set<String>>)] {
        [
            ("age_units", .words, \.ageUnits),
            ("age_words", .words, \.ageWords),
            ("female", .words, \.female),
            ("male", .words, \.male),
            ("male_after_age", .words, \.maleAfterAge),
            ("not_age_after_number", .phrases, \.notAgeAfterNumber),
            ("village_markers", .words, \.villageMarkers),
            ("not_village_after", .words, \.notVillageAfter),
            ("commune_markers", .words, \.communeMarkers),
            ("commune_type_markers", .words, \.communeTypeMarkers),
            ("district_markers", .words, \.districtMarkers),
            ("destination_markers", .words, \.destinationMarkers),
            ("destination_verbs", .words, \.destinationVerbs),
            ("destination_particles", .words, \.destinationParticles),
            ("destination_fillers", .words, \.destinationFillers),
            ("companion_markers", .words, \.companionMarkers),
            ("child_nouns", .words, \.childNouns),
            ("name_stops", .words, \.nameStops),
            ("date_markers", .words, \.dateMarkers),
            ("greetings", .words, \.greetings),
        ]
    }

    /// The tables of phrases to a number (of days, or a number written as words), by key, with the numbers allowed.
    static func dayTables() -> [(key: String, range: ClosedRange<Int>, table: WritableKeyPath<Vocabulary, [String: Int]>)] {
        [
            ("relative_days", 0...366, \.relativeDays),
            ("ago_units", 1...366, \.agoUnits),
            ("number_words", 1...20, \.numberWords),
        ]
    }

    /// Reads the vocabulary, noting every problem; a part with a problem keeps the built-in one.
    static func read(_ text: String, file: String, problems: inout ConfigProblems) -> Vocabulary {
        var vocabulary = Vocabulary.standard
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: file, text: text)
        } catch {
            problems.add(error)
            return vocabulary
        }
        if yaml.node("keywords") != nil, let keywords = keywords(yaml, problems: &problems) {
            vocabulary.keywords = keywords
        }
        for (key, form, path) in lists() {
            let list = problems.value(nil) { try form == .phrases ? phrases(yaml, key) : words(yaml, key) }
            if let list { vocabulary[keyPath: path] = Set(list) }
        }
        if let list = problems.value(nil, { try words(yaml, "urgent_phrases") }) { vocabulary.urgentPhrases = list }
        for (key, range, path) in dayTables() {
            if let table = problems.value(nil, { try days(yaml, key, range: range) }) { vocabulary[keyPath: path] = table }
        }
        if yaml.node("tags") != nil, let tags = tags(yaml, problems: &problems) {
            vocabulary.tags = tags
        }
        if yaml.node("outcomes") != nil, let outcomes = outcomes(yaml, problems: &problems) {
            vocabulary.outcomes = outcomes
        }
        return vocabulary
    }

    /// The folded entries of the list at `key`; nil when the file does not give it.
    static func words(_ yaml: YAMLReader, _ key: String) throws(ConfigError) -> [String]? {
        guard yaml.node(key) != nil else { return nil }
        let values = try yaml.stringList(key).map { TextFolding.fold($0).split(separator: " ").joined(separator: " ") }
        if values.isEmpty { throw yaml.error(key, "is empty: remove it to keep the built-in list") }
        return values
    }

    /// Words or two-word phrases: the grammar looks no further.
    static func phrases(_ yaml: YAMLReader, _ key: String) throws(ConfigError) -> [String]? {
        guard let values = try words(yaml, key) else { return nil }
        if let long = values.first(where: { $0.split(separator: " ").count > 2 }) {
            throw yaml.error(key, "'\(long)' has more than two words")
        }
        return values
    }

    /// Phrases of one or two words to a number of days in `range`; nil when the file does not give them.
    static func days(_ yaml: YAMLReader, _ key: String, range: ClosedRange<Int>) throws(ConfigError) -> [String: Int]? {
        guard yaml.node(key) != nil else { return nil }
        var table: [String: Int] = [:]
        for phrase in try yaml.keys(key) {
            guard !phrase.contains(".") else { throw yaml.error(key, "'\(phrase)': write it without dots") }
            let folded = TextFolding.fold(phrase).split(separator: " ")
            guard (1...2).contains(folded.count) else { throw yaml.error("\(key).\(phrase)", "one or two words") }
            table[folded.joined(separator: " ")] = try yaml.int("\(key).\(phrase)", default: 0, range: range)
        }
        if table.isEmpty { throw yaml.error(key, "is empty: remove it to keep the built-in list") }
        return table
    }

    /// `keywords: {intent: {language: [words]}}`; nil when any of it has a problem.
    static func keywords(_ yaml: YAMLReader, problems: inout ConfigProblems) -> [String: Vocabulary.Keyword]? {
        let found = problems.count
        var keywords: [String: Vocabulary.Keyword] = [:]
        let commands = ParsedMessage.Command.allCases.map(\.rawValue).joined(separator: ", ")
        let intentNames = problems.value([]) { try yaml.keys("keywords") }
        for intentName in intentNames {
            let intent: Vocabulary.Intent
            switch intentName {
            case "tip": intent = .tip
            case "alert": intent = .alert
            default:
                guard let command = ParsedMessage.Command(rawValue: intentName) else {
                    problems.add(yaml.error("keywords.\(intentName)", "unknown intent (tip, alert, \(commands))"))
                    continue
                }
                intent = .command(command)
            }
            let languages = problems.value([]) { try yaml.keys("keywords.\(intentName)") }
            for language in languages {
                let path = "keywords.\(intentName).\(language)"
                guard let lang = ParsedMessage.Language(rawValue: language) else {
                    problems.add(yaml.error(path, "unknown language (vi, en)"))
                    continue
                }
                let list = problems.value(nil) { try words(yaml, path) }
                for word in list ?? [] {
                    if let existing = keywords[word], existing.intent != intent {
                        problems.add(yaml.error(path, "'\(word)' already means another intent"))
                        continue
                    }
                    keywords[word] = .init(intent, lang)
                }
            }
        }
        return problems.count == found ? keywords : nil
    }

    /// `outcomes: {outcome: [codes]}`: the codes of how a case ended, one word or two, read right after a close's
    /// number (`XONG 1001 VE …`); nil when any of it has a problem.
    static func outcomes(_ yaml: YAMLReader, problems: inout ConfigProblems) -> [String: Outcome]? {
        let found = problems.count
        var outcomes: [String: Outcome] = [:]
        let known = Outcome.allCases.map(\.rawValue).joined(separator: ", ")
        let names = problems.value([]) { try yaml.keys("outcomes") }
        if names.isEmpty, problems.count == found {
            problems.add(yaml.error("outcomes", "is empty: remove it to keep the built-in codes"))
        }
        for name in names {
            guard let outcome = Outcome(rawValue: name) else {
                problems.add(yaml.error("outcomes.\(name)", "unknown outcome (\(known))"))
                continue
            }
            let list = problems.value(nil) { try phrases(yaml, "outcomes.\(name)") }
            for code in list ?? [] {
                if let existing = outcomes[code], existing != outcome {
                    problems.add(yaml.error("outcomes.\(name)", "'\(code)' already means \(existing.rawValue)"))
                    continue
                }
                outcomes[code] = outcome
            }
        }
        return problems.count == found ? outcomes : nil
    }

    /// `tags: {WORD: field}`; nil when any of it has a problem.
    static func tags(_ yaml: YAMLReader, problems: inout ConfigProblems) -> [String: Vocabulary.Tag]? {
        let found = problems.count
        var tags: [String: Vocabulary.Tag] = [:]
        let fields = Vocabulary.Tag.allCases.map(\.rawValue).joined(separator: ", ")
        let words = problems.value([]) { try yaml.keys("tags") }
        for word in words {
            let value = problems.value(nil) { try yaml.string("tags.\(word)") }
            let name = value ?? ""
            guard let tag = Vocabulary.Tag(rawValue: name) else {
                problems.add(yaml.error("tags.\(word)", "'\(name)' is not a field (\(fields))"))
                continue
            }
            tags[TextFolding.fold(word)] = tag
        }
        return problems.count == found ? tags : nil
    }
}
