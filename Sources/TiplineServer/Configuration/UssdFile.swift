import TiplineCore

/// `config/ussd.yaml`: the USSD screens by language and key.
enum UssdFile {
    /// Reads the screens, noting every one that is missing or not GSM-7.
    static func read(_ text: String, file: String, problems: inout ConfigProblems) -> UssdCatalogue {
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: file, text: text)
        } catch {
            problems.add(error)
            return UssdCatalogue(texts: [:])
        }
        var texts: [ParsedMessage.Language: [String: String]] = [:]
        for language in ParsedMessage.Language.allCases {
            for key in UssdCatalogue.keys {
                let path = "\(language.rawValue).\(key)"
                guard let value = problems.value(nil, { try yaml.string(path) }) else {
                    if yaml.node(path) == nil { problems.add(ConfigError(file: file, key: path, problem: "missing")) }
                    continue
                }
                if SMSText.gsm7Septets(value) == nil {
                    problems.add(yaml.error(path, "not GSM-7 (remove diacritics and special characters)"))
                }
                texts[language, default: [:]][key] = value
            }
        }
        return UssdCatalogue(texts: texts)
    }
}
