import TiplineCore

/// `config/replies.yaml`: reply texts by language and key.
enum RepliesFile {
    /// Reads the reply texts, noting every unknown language or key and every text that is missing, not GSM-7 or too long.
    static func read(_ text: String, file: String, problems: inout ConfigProblems) -> ReplyCatalogue {
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: file, text: text)
        } catch {
            problems.add(error)
            return ReplyCatalogue(texts: [:])
        }
        var texts: [ParsedMessage.Language: [ReplyCatalogue.Key: String]] = [:]
        let languages = problems.value([]) { try yaml.keys("") }
        for language in languages {
            guard let lang = ParsedMessage.Language(rawValue: language) else {
                problems.add(yaml.error(language, "unknown language (known: vi, en)"))
                continue
            }
            let keys = problems.value([]) { try yaml.keys(language) }
            for key in keys {
                guard let replyKey = ReplyCatalogue.Key(rawValue: key) else {
                    problems.add(yaml.error("\(language).\(key)", "unknown reply key"))
                    continue
                }
                if let value = problems.value(nil, { try yaml.string("\(language).\(key)") }) {
                    texts[lang, default: [:]][replyKey] = value
                }
            }
        }
        let catalogue = ReplyCatalogue(texts: texts)
        for problem in catalogue.problems() {
            let path = "\(problem.language.rawValue).\(problem.key)"
            problems.add(yaml.error(path, problem.problem))
        }
        return catalogue
    }
}
