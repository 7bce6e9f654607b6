import Foundation

/// The keyword grammar: turns one SMS into a ``ParsedMessage``.
///
/// Pure and total: every input, however garbled, gives a result — what cannot be read is `unknown` and is still
/// stored and answered. See `docs/grammar.md` for the language it reads.
public struct ReportParser: Sendable {
    public let gazetteer: Gazetteer
    public let vocabulary: Vocabulary
    public let timeZone: TimeZone

    public init(gazetteer: Gazetteer, vocabulary: Vocabulary = .standard, timeZone: TimeZone) {
        self.gazetteer = gazetteer
        self.vocabulary = vocabulary
        self.timeZone = timeZone
    }

    /// Parses `text` received at `receivedAt` (relative dates count back from that day in the deployment's time zone).
    public func parse(_ text: String, receivedAt: Date) -> ParsedMessage {
        let cleaned = TextFolding.clean(text)
        let tokenizer = Tokenizer(cleaned)
        let tokens = tokenizer.tokens()
        let today = LocalDate(receivedAt, in: timeZone)

        guard let (keyword, keywordLength, gluedNumber) = keyword(in: tokens) else {
            var message = ParsedMessage(kind: .unknown)
            let note = cleaned.trimmingCharacters(in: .whitespacesAndNewlines)
            message.note = note.isEmpty ? nil : note
            message.companion.phone = tokenizer.phones.first { PhoneNumber(trustedE164: $0).isVietnameseMobile }
            return message
        }
        let rest = Array(tokens.dropFirst(keywordLength))
        switch keyword.intent {
        case .command(let command):
            return parseCommand(command, language: keyword.language, rest: rest, gluedNumber: gluedNumber, tokenizer: tokenizer)
        case .tip, .alert:
            let kind: ParsedMessage.Kind = keyword.intent == .tip ? .tip : .alert
            if rest.isEmpty {
                // A report keyword alone asks how to report.
                return ParsedMessage(kind: .command, command: .help, language: keyword.language)
            }
            var fields = FieldReader(parser: self, tokens: rest, today: today)
            if fields.isTagged { fields.readTagged() } else { fields.readFree() }
            return fields.message(kind: kind, language: keyword.language, phones: tokenizer.phones)
        }
    }

    // MARK: - Keyword

    /// The keyword at the start, how many tokens it took, and a number glued to it (`OK1077`).
    private func keyword(in tokens: [Token]) -> (Vocabulary.Keyword, Int, Int?)? {
        guard let first = tokens.first else { return nil }
        if tokens.count >= 2, !tokens[1].boundaryBefore,
           let keyword = vocabulary.keywords[first.folded + " " + tokens[1].folded] {
            return (keyword, 2, nil)
        }
        if let keyword = vocabulary.keywords[first.folded] { return (keyword, 1, nil) }
        // Glued number: letters then digits.
        let letters = first.folded.prefix { !$0.isNumber }
        let digits = first.folded.dropFirst(letters.count)
        if !letters.isEmpty, !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
           vocabulary.isNumberedCommand(String(letters)), let keyword = vocabulary.keywords[String(letters)] {
            return (keyword, 1, Int(digits))
        }
        return nil
    }

    // MARK: - Commands

    private func parseCommand(_ command: ParsedMessage.Command, language: ParsedMessage.Language, rest: [Token],
                              gluedNumber: Int?, tokenizer: Tokenizer) -> ParsedMessage {
        var message = ParsedMessage(kind: .command, command: command, language: language)
        var noteIndex: Int? = rest.isEmpty ? nil : 0
        if let gluedNumber {
            message.number = gluedNumber
        } else if command.takesNumber || command == .list, let first = rest.first, first.isNumber, first.folded.count <= 9 {
            message.number = Int(first.folded)
            noteIndex = rest.count > 1 ? 1 : nil
        }
        if command == .list, message.number != nil { message.command = .show }
        // A close may name its outcome first (`XONG 1001 VE em da ve nha`): the code, then the free text.
        if command == .close, let index = noteIndex, let (outcome, length) = outcomeCode(in: rest, at: index) {
            message.outcome = outcome
            noteIndex = index + length < rest.count ? index + length : nil
        }
        if let noteIndex { message.note = tokenizer.text(from: rest[noteIndex].start) }
        return message
    }

    /// The outcome code at `index` (two words before one) and how many words it took.
    private func outcomeCode(in tokens: [Token], at index: Int) -> (Outcome, Int)? {
        if index + 1 < tokens.count, !tokens[index + 1].boundaryBefore,
           let outcome = vocabulary.outcomes[tokens[index].folded + " " + tokens[index + 1].folded] {
            return (outcome, 2)
        }
        if let outcome = vocabulary.outcomes[tokens[index].folded] { return (outcome, 1) }
        return nil
    }
}

/// Reads the fields of a tip or an alert from the tokens after the keyword.
struct FieldReader {
    let parser: ReportParser
    let tokens: [Token]
    let today: LocalDate
    var vocabulary: Vocabulary { parser.vocabulary }
    var gazetteer: Gazetteer { parser.gazetteer }

    var name: [String] = []
    var age: Int?
    var sex: ParsedMessage.Sex?
    var village: String?
    var origins: [(viaMarker: Bool, match: AreaMatch)] = []
    var originText: String?
    var provinceHint: String?
    var destination = ParsedMessage.Destination()
    var leftOn: LocalDate?
    var companionName: String?
    var leftover: [String] = []
    var flags: [String] = []

    init(parser: ReportParser, tokens: [Token], today: LocalDate) {
        self.parser = parser
        self.tokens = tokens
        self.today = today
    }

    /// An area found in the text: one area, or several candidates.
    struct AreaMatch {
        var areas: [Area]
        var length: Int
    }

    // MARK: Result

    func message(kind: ParsedMessage.Kind, language: ParsedMessage.Language, phones: [String]) -> ParsedMessage {
        var message = ParsedMessage(kind: kind, language: language)
        message.child.name = name.isEmpty ? nil : TextFolding.titleCased(name.joined(separator: " "))
        message.child.age = age
        message.child.sex = sex
        message.origin.village = village
        var flags = self.flags
        if let origin = chosenOrigin() {
            if origin.areas.count == 1, let area = origin.areas.first {
                message.origin.areaCode = area.code
                message.origin.areaName = area.name
                message.origin.province = area.province
            } else {
                message.origin.candidates = origin.areas.map(\.code)
                flags.append("origin_ambiguous")
            }
        } else {
            message.origin.text = originText
        }
        message.destination = destination
        message.leftOn = leftOn?.description
        message.companion.name = companionName.map(TextFolding.titleCased)
        message.companion.phone = phones.first { PhoneNumber(trustedE164: $0).isVietnameseMobile } ?? phones.first
        message.note = leftover.isEmpty ? nil : leftover.joined(separator: " ")
        if let age, age >= 18 { flags.append("age_18_or_over") }
        message.flags = flags

        let folded = " " + tokens.map(\.folded).joined(separator: " ") + " "
        let phrase = vocabulary.urgentPhrases.contains { folded.contains(" " + $0 + " ") }
        message.urgent = kind == .alert || destination.country.map { $0 != "VN" } == true || phrase

        var missing: [String] = []
        if kind == .tip, age == nil { missing.append("age") }
        if message.origin.areaCode == nil { missing.append("origin") }
        if kind == .tip, destination.code == nil, destination.text == nil { missing.append("destination") }
        message.missing = missing
        return message
    }

    /// A commune named after a marker before one standing alone; then the first.
    func chosenOrigin() -> AreaMatch? {
        guard var chosen = (origins.first { $0.viaMarker } ?? origins.first)?.match else { return nil }
        if chosen.areas.count > 1 { chosen.areas = breakTie(chosen.areas) }
        return chosen
    }

    /// Narrows candidates with a former district or a province named anywhere in the message.
    func breakTie(_ candidates: [Area]) -> [Area] {
        var remaining = candidates
        if let provinceHint {
            let narrowed = remaining.filter { TextFolding.matchKey($0.province) == provinceHint || $0.provinceCode == provinceHint }
            if !narrowed.isEmpty { remaining = narrowed }
        }
        guard remaining.count > 1 else { return remaining }
        for start in tokens.indices {
            for length in (1...min(4, tokens.count - start)).reversed() {
                let key = tokens[start..<start + length].map(\.key).joined()
                if let codes = gazetteer.areaCodes(inFormerDistrictKey: key) {
                    let narrowed = remaining.filter { codes.contains($0.code) }
                    if !narrowed.isEmpty, narrowed.count < remaining.count { remaining = narrowed }
                }
            }
        }
        return remaining
    }

    // MARK: Free form

    mutating func readFree() {
        var index = 0
        var inName = true
        while index < tokens.count {
            if let used = readField(at: index, inName: inName) {
                inName = false
                index += used
                continue
            }
            let token = tokens[index]
            if inName {
                if name.isEmpty, vocabulary.childNouns.contains(token.folded) {
                    index += 1
                    continue
                }
                if vocabulary.nameStops.contains(token.folded) || (token.boundaryBefore && !name.isEmpty) || token.isNumber {
                    inName = false
                    leftover.append(token.original)
                } else {
                    name.append(token.original)
                }
            } else {
                leftover.append(token.original)
            }
            index += 1
        }
    }

    /// Reads one field starting at `index`; returns how many tokens it used.
    mutating func readField(at index: Int, inName: Bool) -> Int? {
        if let (date, used) = readDate(at: index) {
            if leftOn == nil { leftOn = date }
            return used
        }
        if let (value, used) = readAge(at: index) {
            if age == nil { age = value } else { leftover.append(String(value)) }
            // NAM right after the age is the sex.
            if index + used < tokens.count, vocabulary.maleAfterAge.contains(tokens[index + used].folded),
               !tokens[index + used].boundaryBefore || sex == nil {
                if sex == nil { sex = .male }
                return used + 1
            }
            return used
        }
        let token = tokens[index]
        if let value = sexWord(token.folded) {
            // A sex word in name position is a sex only once a name has started, or when it is alone.
            if sex == nil { sex = value }
            return 1
        }
        if vocabulary.villageMarkers.contains(token.folded),
           !(index > 0 && (vocabulary.notVillageAfter.contains(tokens[index - 1].folded) || tokens[index - 1].isNumber)) {
            let value = freeValue(from: index + 1)
            if value.count > 0 {
                if village == nil { village = value.map(\.original).joined(separator: " ") }
                return 1 + value.count
            }
        }
        if vocabulary.communeMarkers.contains(token.folded) {
            if let match = matchArea(at: index + 1) {
                origins.append((true, match))
                return 1 + match.length
            }
            if vocabulary.communeTypeMarkers.contains(token.folded), originText == nil, !inName {
                let value = freeValue(from: index + 1)
                if !value.isEmpty {
                    originText = value.map(\.original).joined(separator: " ")
                    return 1 + value.count
                }
            }
        }
        if vocabulary.districtMarkers.contains(token.folded) {
            var length = min(4, tokens.count - index - 1)
            while length > 0 {
                let key = tokens[(index + 1)...(index + length)].map(\.key).joined()
                if gazetteer.isFormerDistrict(key) { return 1 + length }
                length -= 1
            }
        }
        if vocabulary.destinationMarkers.contains(token.folded) {
            var start = index + 1
            if vocabulary.destinationVerbs.contains(token.folded) {
                guard start < tokens.count, vocabulary.destinationParticles.contains(tokens[start].folded) else { return nil }
                start += 1
            }
            var skipped = 0
            while skipped < 3, start + skipped < tokens.count, vocabulary.destinationFillers.contains(tokens[start + skipped].folded) {
                skipped += 1
            }
            for offset in Set([skipped, 0]).sorted(by: >) {
                if let (place, length) = matchPlace(at: start + offset) {
                    if destination.code == nil {
                        let typed = tokens[(start + offset)..<(start + offset + length)].map(\.original).joined(separator: " ")
                        destination = .init(text: typed, code: place.code, name: place.name, country: place.country)
                    }
                    return start + offset + length - index
                }
            }
            if !inName {
                let value = freeValue(from: start + skipped)
                if !value.isEmpty {
                    if destination.code == nil, destination.text == nil {
                        destination.text = value.map(\.original).joined(separator: " ")
                    }
                    return start + skipped + value.count - index
                }
            }
        }
        if vocabulary.companionMarkers.contains(token.folded), !inName || !name.isEmpty {
            let value = freeValue(from: index + 1)
            if !value.isEmpty {
                if companionName == nil { companionName = value.map(\.original).joined(separator: " ") }
                return 1 + value.count
            }
        }
        // A commune standing alone: outside the name, or after a separator when it takes several words.
        if let match = matchArea(at: index), !inName || (token.boundaryBefore && !name.isEmpty && match.length > 1) {
            origins.append((false, match))
            return match.length
        }
        return nil
    }

    /// The words after a marker up to the next field or separator.
    func freeValue(from start: Int) -> ArraySlice<Token> {
        var end = start
        while end < tokens.count {
            let token = tokens[end]
            if end > start, token.boundaryBefore { break }
            if end == start, token.boundaryBefore, token.folded.isEmpty { break }
            if startsField(at: end) { break }
            end += 1
        }
        return tokens[min(start, tokens.count)..<max(min(start, tokens.count), end)]
    }

    func startsField(at index: Int) -> Bool {
        let folded = tokens[index].folded
        if vocabulary.allMarkers.contains(folded) || sexWord(folded) != nil { return true }
        if readAge(at: index) != nil || readDate(at: index) != nil { return true }
        return false
    }

    func sexWord(_ folded: String) -> ParsedMessage.Sex? {
        if vocabulary.female.contains(folded) { return .female }
        if vocabulary.male.contains(folded) { return .male }
        return nil
    }

    // MARK: Age

    func readAge(at index: Int) -> (Int, Int)? {
        let token = tokens[index]
        let folded = token.folded
        let next = index + 1 < tokens.count ? tokens[index + 1] : nil
        // 14t, 14tuoi, 14yo
        let digits = folded.prefix { $0.isASCII && $0.isNumber }
        if (1...2).contains(digits.count), vocabulary.ageUnits.contains(String(folded.dropFirst(digits.count))) {
            return Int(digits).flatMap { validAge($0) }.map { ($0, 1) }
        }
        if token.isNumber, (1...2).contains(folded.count) {
            if let next, !next.boundaryBefore {
                if vocabulary.ageUnits.contains(next.folded) { return Int(folded).flatMap { validAge($0) }.map { ($0, 2) } }
                // "2 chau", "3 ngay", "5 nam truoc": a count or a span of time.
                if vocabulary.childNouns.contains(next.folded) || vocabulary.notAgeAfterNumber.contains(next.folded) { return nil }
                if index + 2 < tokens.count, vocabulary.notAgeAfterNumber.contains(next.folded + " " + tokens[index + 2].folded) { return nil }
            }
            return Int(folded).flatMap { validAge($0) }.map { ($0, 1) }
        }
        // tuoi 14
        if vocabulary.ageWords.contains(folded), let next, next.isNumber, (1...2).contains(next.folded.count) {
            return Int(next.folded).flatMap { validAge($0) }.map { ($0, 2) }
        }
        return nil
    }

    func validAge(_ value: Int) -> Int? { value >= 1 ? value : nil }

    // MARK: Date

    func readDate(at index: Int) -> (LocalDate, Int)? {
        let folded = tokens[index].folded
        func word(_ offset: Int) -> String? {
            index + offset < tokens.count ? tokens[index + offset].folded : nil
        }
        if vocabulary.dateMarkers.contains(folded), index + 1 < tokens.count,
           let (date, used) = readDate(at: index + 1) {
            return (date, used + 1)
        }
        if let date = dayMonth(folded) { return (date, 1) }
        // "hom qua", "homqua", "last week": two words before one.
        if let next = word(1), let days = vocabulary.relativeDays[folded + " " + next] { return (today.adding(days: -days), 2) }
        if let days = vocabulary.relativeDays[folded] { return (today.adding(days: -days), 1) }
        // "3 ngay truoc", "2 weeks ago".
        if tokens[index].isNumber, let n = Int(folded), n <= 366, let unit = word(1) {
            if let second = word(2), let days = vocabulary.agoUnits[unit + " " + second] { return (today.adding(days: -days * n), 3) }
            if let days = vocabulary.agoUnits[unit] { return (today.adding(days: -days * n), 2) }
        }
        return nil
    }

    /// `D/M`, `D/M/YY`, `D/M/YYYY`; without a year, the latest such day not after today.
    func dayMonth(_ folded: String) -> LocalDate? {
        let parts = folded.split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let day = Int(parts[0]), let month = Int(parts[1]), parts[0].count <= 2, parts[1].count <= 2 else { return nil }
        if parts.count == 3 {
            guard var year = Int(parts[2]), parts[2].count == 2 || parts[2].count == 4 else { return nil }
            if year < 100 { year += 2000 }
            let date = LocalDate(year: year, month: month, day: day)
            return date.isValid ? date : nil
        }
        for year in [today.year, today.year - 1, today.year - 2, today.year - 3, today.year - 4] {
            let date = LocalDate(year: year, month: month, day: day)
            if date.isValid, date <= today { return date }
        }
        return nil
    }

    // MARK: Places

    /// The longest run of words from `start` that names an area (current names before former ones).
    func matchArea(at start: Int) -> AreaMatch? {
        guard start < tokens.count else { return nil }
        var length = min(gazetteer.maxWords, tokens.count - start)
        while length > 0 {
            let run = tokens[start..<(start + length)]
            if !run.dropFirst().contains(where: \.boundaryBefore) {
                let key = run.map(\.key).joined()
                let names = gazetteer.areaNames(forKey: key)
                if !names.isEmpty {
                    let current = unique(names.filter(\.isCurrent).map(\.area))
                    let areas = current.isEmpty ? unique(names.map(\.area)) : current
                    return AreaMatch(areas: areas, length: length)
                }
            }
            length -= 1
        }
        return nil
    }

    func matchPlace(at start: Int) -> (Place, Int)? {
        guard start < tokens.count else { return nil }
        var length = min(6, tokens.count - start)
        while length > 0 {
            let run = tokens[start..<(start + length)]
            if !run.dropFirst().contains(where: \.boundaryBefore) || length == 1 {
                if let place = gazetteer.places(forKey: run.map(\.key).joined()).first { return (place, length) }
            }
            length -= 1
        }
        return nil
    }

    func unique(_ areas: [Area]) -> [Area] {
        var seen = Set<String>()
        return areas.filter { seen.insert($0.code).inserted }
    }

    // MARK: Tagged form

    /// `TEN: Lan; TUOI: 14; …` — at least two tags, or the message opening with one.
    var isTagged: Bool {
        let tagged = tokens.enumerated().filter { vocabulary.tags[$0.element.folded] != nil && $0.element.tagMarkAfter }
        return tagged.count >= 2 || tagged.first?.offset == 0
    }

    mutating func readTagged() {
        let starts = tokens.indices.filter { vocabulary.tags[tokens[$0].folded] != nil && tokens[$0].tagMarkAfter }
        for (n, start) in starts.enumerated() {
            let end = n + 1 < starts.count ? starts[n + 1] : tokens.count
            let value = Array(tokens[(start + 1)..<end])
            guard !value.isEmpty, let tag = vocabulary.tags[tokens[start].folded] else { continue }
            let text = value.map(\.original).joined(separator: " ")
            let sub = FieldReader(parser: parser, tokens: value, today: today)
            switch tag {
            case .name: name = [text]
            case .age: age = (0..<value.count).lazy.compactMap { sub.readAge(at: $0)?.0 }.first
            case .sex: sex = value.lazy.compactMap { sub.sexWord($0.folded) ?? (sub.vocabulary.maleAfterAge.contains($0.folded) ? .male : nil) }.first
            case .village: village = text
            case .commune:
                if let match = (0..<value.count).lazy.compactMap({ sub.matchArea(at: $0) }).first {
                    origins.append((true, match))
                } else {
                    originText = text
                }
            case .province: provinceHint = TextFolding.matchKey(gazetteer.places(forKey: TextFolding.matchKey(text)).first?.name ?? text)
            case .destination:
                if let (place, _) = (0..<value.count).lazy.compactMap({ sub.matchPlace(at: $0) }).first {
                    destination = .init(text: text, code: place.code, name: place.name, country: place.country)
                } else {
                    destination = .init(text: text)
                }
            case .date: leftOn = (0..<value.count).lazy.compactMap { sub.readDate(at: $0)?.0 }.first
            case .companion: companionName = text
            case .phone: break // phone numbers are read from the whole message
            }
        }
    }
}
