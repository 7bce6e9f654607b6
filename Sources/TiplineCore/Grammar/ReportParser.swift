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

        guard let (keyword, keywordStart, keywordLength, gluedNumber) = keyword(in: tokens) else {
            var message = ParsedMessage(kind: .unknown)
            let note = cleaned.trimmingCharacters(in: .whitespacesAndNewlines)
            message.note = note.isEmpty ? nil : note
            message.companion.phone = tokenizer.phones.first { PhoneNumber(trustedE164: $0).isVietnameseMobile }
            return readWithoutKeyword(tokens, note: message.note, today: today, phones: tokenizer.phones) ?? message
        }
        let rest = Array(tokens.dropFirst(keywordStart + keywordLength))
        switch keyword.intent {
        case .command(let command):
            return parseCommand(command, language: keyword.language, rest: rest, gluedNumber: gluedNumber, tokenizer: tokenizer)
        case .tip, .alert:
            let kind: ParsedMessage.Kind = keyword.intent == .tip ? .tip : .alert
            if rest.isEmpty {
                // A report keyword alone asks how to report.
                return ParsedMessage(kind: .command, command: .help, language: keyword.language)
            }
            var fields = FieldReader(parser: self, tokens: unglued(rest), today: today, kind: kind)
            if fields.isTagged { fields.readTagged() } else { fields.readFree() }
            return fields.message(kind: kind, language: keyword.language, phones: tokenizer.phones)
        }
    }

    /// A message with no keyword that still names a commune and a child ("con toi 14 tuoi o xa Lung Cu bi dua di
    /// Trung Quoc"): kind `unknown`, flagged `no_keyword`, with the fields a tip would have but no name, so it can be
    /// routed to that commune's officers to read. Nil when it does not name both.
    private func readWithoutKeyword(_ tokens: [Token], note: String?, today: LocalDate, phones: [String]) -> ParsedMessage? {
        var fields = FieldReader(parser: self, tokens: unglued(tokens), today: today, kind: .unknown)
        fields.standaloneMinimumWords = 2
        fields.readFree(nameFirst: false)
        let child = fields.age != nil || fields.sex != nil || fields.tokens.contains { vocabulary.childNouns.contains($0.folded) }
        guard child, let origin = fields.chosenOrigin(), !origin.areas.isEmpty else { return nil }
        var message = fields.message(kind: .unknown, language: .vi, phones: phones)
        message.note = note
        message.flags = (message.flags + ["no_keyword"]).sorted()
        message.missing = []
        return message
    }

    // MARK: - Keyword

    /// The keyword, where it starts, how many tokens it took, and a number glued to it (`OK1077`). It starts the
    /// message; or it is a report keyword after greetings only ("Chao anh, TRE …") or at the start of a later
    /// sentence within the first twenty words; or the message opens with a long report keyword misspelled by one letter.
    private func keyword(in tokens: [Token]) -> (Vocabulary.Keyword, Int, Int, Int?)? {
        if let (keyword, length, glued) = keyword(at: 0, in: tokens) { return (keyword, 0, length, glued) }
        if let first = tokens.first, let keyword = misspelledKeyword(first.folded) { return (keyword, 0, 1, nil) }
        var greetingsOnly = true
        for index in tokens.indices.dropFirst().prefix(19) {
            greetingsOnly = greetingsOnly && vocabulary.greetings.contains(tokens[index - 1].folded)
            guard greetingsOnly || tokens[index].sentenceBefore || tokens[index - 1].original.hasSuffix("?"),
                  let (keyword, length, glued) = keyword(at: index, in: tokens),
                  keyword.intent == .tip || keyword.intent == .alert else { continue }
            return (keyword, index, length, glued)
        }
        return nil
    }

    private func keyword(at index: Int, in tokens: [Token]) -> (Vocabulary.Keyword, Int, Int?)? {
        guard index < tokens.count else { return nil }
        let first = tokens[index]
        if index + 1 < tokens.count, !tokens[index + 1].boundaryBefore,
           let keyword = vocabulary.keywords[first.folded + " " + tokens[index + 1].folded] {
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

    /// A report keyword of five letters or more typed with one letter wrong (`REPROT`, `URGNET`), when no other
    /// keyword is as near; short keywords (`TRE`, `SOS`) must be exact.
    private func misspelledKeyword(_ folded: String) -> Vocabulary.Keyword? {
        guard folded.count >= 5, vocabulary.keywords[folded] == nil else { return nil }
        var found: Vocabulary.Keyword?
        for (word, keyword) in vocabulary.keywords where word.count >= 5 && !word.contains(" ") {
            guard SpellingDistance.within(folded, word, 1) != nil else { continue }
            guard keyword.intent == .tip || keyword.intent == .alert, found == nil || found == keyword else { return nil }
            found = keyword
        }
        return found
    }

    // MARK: - Glued words

    /// Splits words typed without their spaces: an age, its unit and a sex (`14tnu`, `nu14t`), and a commune or
    /// destination marker glued to a known place (`xaLungCu`, `diHCM`). Anything else stays as typed.
    func unglued(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        out.reserveCapacity(tokens.count)
        for token in tokens {
            if let cut = gluedCut(token.folded, key: token.key) { out += token.split(at: cut) } else { out.append(token) }
        }
        return out
    }

    /// Where a glued word splits, in characters; nil when it does not.
    private func gluedCut(_ folded: String, key: String) -> Int? {
        guard folded.count >= 3, !folded.contains("/") else { return nil }
        let sexes = vocabulary.female.union(vocabulary.male)
        if folded.contains(where: { $0.isASCII && $0.isNumber }) {
            // A sex, then an age: NU14T, GAI13.
            for word in sexes where word.count >= 2 && folded.hasPrefix(word) {
                if isAge(folded.dropFirst(word.count)) { return word.count }
            }
            // An age (and its unit), then a sex: 14TNU, 16TUOITRAI, 14NU.
            let digits = folded.prefix { $0.isASCII && $0.isNumber }
            guard (1...2).contains(digits.count) else { return nil }
            let letters = folded.dropFirst(digits.count)
            for unit in [""] + vocabulary.ageUnits.sorted(by: { $0.count > $1.count }) where letters.hasPrefix(unit) {
                let sex = letters.dropFirst(unit.count)
                if !sex.isEmpty, sexes.contains(String(sex)) { return digits.count + unit.count }
            }
            return nil
        }
        // A marker glued to a known place — unless the whole word is a place.
        guard gazetteer.areaNames(forKey: key).isEmpty, gazetteer.places(forKey: key).isEmpty else { return nil }
        for marker in vocabulary.communeMarkers.union(vocabulary.destinationMarkers) where marker.count >= 2 && marker != "IN" {
            guard folded.count > marker.count, folded.hasPrefix(marker) else { continue }
            let rest = TextFolding.matchKey(String(folded.dropFirst(marker.count)))
            if vocabulary.communeMarkers.contains(marker), !gazetteer.areaNames(forKey: rest).isEmpty { return marker.count }
            if vocabulary.destinationMarkers.contains(marker), !gazetteer.places(forKey: rest).isEmpty { return marker.count }
        }
        return nil
    }

    /// One or two digits, then an age unit or nothing.
    private func isAge(_ text: Substring) -> Bool {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count)
        return (1...2).contains(digits.count) && (unit.isEmpty || vocabulary.ageUnits.contains(String(unit)))
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
    /// What the keyword said (`unknown` for a message read without one).
    let kind: ParsedMessage.Kind
    /// How many words a commune standing alone, without a marker, must take to count.
    var standaloneMinimumWords = 1
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

    init(parser: ReportParser, tokens: [Token], today: LocalDate, kind: ParsedMessage.Kind = .tip) {
        self.parser = parser
        self.tokens = tokens
        self.today = today
        self.kind = kind
    }

    /// An area found in the text: one area, or several candidates; `typed` when it was matched despite a spelling error.
    struct AreaMatch {
        var areas: [Area]
        var length: Int
        var typed: String?
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
            if let typed = origin.typed {
                flags.append("fuzzy_origin")
                message.origin.text = typed
            }
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
        message.flags = flags.sorted()

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
        guard remaining.count > 1 else { return remaining }
        // A former district typed with a small spelling error, right after `HUYEN`.
        for index in tokens.indices where vocabulary.districtMarkers.contains(tokens[index].folded) {
            for length in tolerantRunLengths(from: index + 1).reversed() {
                let key = tokens[(index + 1)..<(index + 1 + length)].map(\.key).joined()
                if let codes = gazetteer.areaCodes(nearFormerDistrictKey: key) {
                    let narrowed = remaining.filter { codes.contains($0.code) }
                    if !narrowed.isEmpty { remaining = narrowed }
                    break
                }
            }
        }
        return remaining
    }

    // MARK: Free form

    mutating func readFree(nameFirst: Bool = true) {
        var index = 0
        var inName = nameFirst
        // An alert may name only the commune: `SOS Lung Cu`.
        if kind == .alert, let match = matchArea(at: 0), !match.areas.isEmpty {
            origins.append((true, match))
            index = match.length
            inName = false
        }
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
            // Spelling tolerance only after a word that names the unit (`xa`, `phuong`): after `o` or `tai` it read
            // "o nha hang" (at a restaurant) as Nà Hang.
            let tolerant = vocabulary.communeTypeMarkers.contains(token.folded) && (!inName || !name.isEmpty)
            if let match = matchArea(at: index + 1) ?? matchArea(at: index + 1, tolerant: tolerant) {
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
            if let length = formerDistrictNear(from: index + 1) { return 1 + length }
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
            let tolerant = !inName || !name.isEmpty
            for (offset, fuzzy) in Set([skipped, 0]).sorted(by: >).map({ ($0, false) }) + (tolerant ? [(skipped, true)] : []) {
                if let (place, length) = fuzzy ? matchPlace(at: start + offset, tolerant: true) : matchPlace(at: start + offset) {
                    if destination.code == nil {
                        let typed = tokens[(start + offset)..<(start + offset + length)].map(\.original).joined(separator: " ")
                        destination = .init(text: typed, code: place.code, name: place.name, country: place.country)
                        if fuzzy { flags.append("fuzzy_destination") }
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
        if let match = matchArea(at: index), match.length >= standaloneMinimumWords,
           !inName || (token.boundaryBefore && !name.isEmpty && match.length > 1) {
            origins.append((false, match))
            return match.length
        }
        return nil
    }

    /// The words after a marker up to the next field or separator. The first word belongs to the value even when it
    /// is a marker word (`thon Sang Tung`); a later marker word ends it only when what follows reads as its field.
    func freeValue(from start: Int) -> ArraySlice<Token> {
        var end = start
        while end < tokens.count {
            let token = tokens[end]
            if end > start, token.boundaryBefore { break }
            if end == start, token.boundaryBefore, token.folded.isEmpty { break }
            if end == start ? startsValueField(at: end) || markerReadsAsField(at: end) : endsValue(at: end) { break }
            end += 1
        }
        return tokens[min(start, tokens.count)..<max(min(start, tokens.count), end)]
    }

    /// An age, a date or a sex word: never part of a free value.
    func startsValueField(at index: Int) -> Bool {
        sexWord(tokens[index].folded) != nil || readAge(at: index) != nil || readDate(at: index) != nil
    }

    /// Whether the word at `index`, inside a value, starts another field: a marker that reads as its field, or a
    /// village, companion, district or commune-type marker.
    func endsValue(at index: Int) -> Bool {
        if startsValueField(at: index) || markerReadsAsField(at: index) { return true }
        let folded = tokens[index].folded
        if vocabulary.destinationMarkers.contains(folded) { return false }
        if vocabulary.communeMarkers.contains(folded), !vocabulary.communeTypeMarkers.contains(folded) { return false }
        return vocabulary.allMarkers.contains(folded)
    }

    /// A destination marker followed by a known place, or a commune marker followed by a known commune (or, for
    /// `o`/`tai`, by another marker): then the word is the marker, wherever it stands.
    func markerReadsAsField(at index: Int) -> Bool {
        let folded = tokens[index].folded
        let next = index + 1
        guard next < tokens.count else { return false }
        if vocabulary.destinationMarkers.contains(folded) {
            var start = next
            while start < tokens.count, start - next < 3, vocabulary.destinationFillers.contains(tokens[start].folded) { start += 1 }
            return matchPlace(at: next) != nil || matchPlace(at: start) != nil || matchPlace(at: start, tolerant: true) != nil
        }
        if vocabulary.communeMarkers.contains(folded) {
            let typeMarker = vocabulary.communeTypeMarkers.contains(folded)
            return matchArea(at: next) != nil || matchArea(at: next, tolerant: typeMarker)
                != nil || (!typeMarker && vocabulary.allMarkers.contains(tokens[next].folded))
        }
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
        // tuoi 14, tuoi muoi bon
        if vocabulary.ageWords.contains(folded), let next, next.isNumber, (1...2).contains(next.folded.count) {
            return Int(next.folded).flatMap { validAge($0) }.map { ($0, 2) }
        }
        if vocabulary.ageWords.contains(folded), index + 1 < tokens.count, let (value, used) = numberWords(at: index + 1) {
            return (value, used + 1)
        }
        // muoi sau tuoi, tam tuoi, muoi bon; fourteen
        if let (value, used) = numberWords(at: index) {
            let after = index + used
            if after < tokens.count, !tokens[after].boundaryBefore, vocabulary.ageUnits.contains(tokens[after].folded) {
                return (value, used + 1)
            }
            guard (used >= 2 && folded == "MUOI") || (used == 1 && value > 10) else { return nil }
            if after < tokens.count, !tokens[after].boundaryBefore {
                if vocabulary.notAgeAfterNumber.contains(tokens[after].folded) || vocabulary.childNouns.contains(tokens[after].folded) { return nil }
                if after + 1 < tokens.count, vocabulary.notAgeAfterNumber.contains(tokens[after].folded + " " + tokens[after + 1].folded) { return nil }
            }
            return (value, used)
        }
        return nil
    }

    /// A number written in words and how many words it took: `muoi sau` 16, `hai muoi` 20, `tam` 8, `fourteen` 14.
    func numberWords(at index: Int) -> (Int, Int)? {
        guard let first = vocabulary.numberWords[tokens[index].folded] else { return nil }
        func unit(_ at: Int) -> Int? {
            guard at < tokens.count, !tokens[at].boundaryBefore, let value = vocabulary.numberWords[tokens[at].folded],
                  (1...9).contains(value), tokens[at].folded != "ONE" else { return nil }
            return value
        }
        if tokens[index].folded == "MUOI", let unit = unit(index + 1) { return (10 + unit, 2) }
        if (2...9).contains(first), index + 1 < tokens.count, !tokens[index + 1].boundaryBefore, tokens[index + 1].folded == "MUOI" {
            if let unit = unit(index + 2) { return (first * 10 + unit, 3) }
            return (first * 10, 2)
        }
        return (first, 1)
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
        // "3 ngay truoc", "2 weeks ago", "muoi ngay truoc".
        let count: (Int, Int)? = tokens[index].isNumber ? Int(folded).map { ($0, 1) } : numberWords(at: index)
        if let (n, used) = count, n <= 366, let unit = word(used) {
            if let second = word(used + 1), let days = vocabulary.agoUnits[unit + " " + second] { return (today.adding(days: -days * n), used + 2) }
            if let days = vocabulary.agoUnits[unit] { return (today.adding(days: -days * n), used + 1) }
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

    /// The run of words from `start` nearest to an area's name within its spelling tolerance (`xa Lung Cuu`): the
    /// nearest wins, then the longest run; areas equally near are candidates. Only after a marker.
    func matchArea(at start: Int, tolerant: Bool) -> AreaMatch? {
        guard tolerant else { return nil }
        var best: (match: AreaMatch, distance: Int)?
        for length in tolerantRunLengths(from: start) {
            let run = tokens[start..<(start + length)]
            guard let (areas, distance) = gazetteer.nearAreas(run.map(\.key).joined()) else { continue }
            if best == nil || distance <= best!.distance {
                best = (AreaMatch(areas: areas, length: length, typed: run.map(\.original).joined(separator: " ")), distance)
            }
        }
        return best?.match
    }

    /// The place nearest to the run of words from `start` within its spelling tolerance; nil when two are as near.
    func matchPlace(at start: Int, tolerant: Bool) -> (Place, Int)? {
        guard tolerant else { return nil }
        var best: (place: Place?, length: Int, distance: Int)?
        for length in tolerantRunLengths(from: start) {
            guard let (places, distance) = gazetteer.nearPlaces(tokens[start..<(start + length)].map(\.key).joined()) else { continue }
            if best == nil || distance <= best!.distance {
                best = (places.count == 1 ? places[0] : nil, length, distance)
            }
        }
        guard let best, let place = best.place else { return nil }
        return (place, best.length)
    }

    /// Runs of one to four words from `start`, shortest first, that cross no separator and take in no other field.
    func tolerantRunLengths(from start: Int) -> [Int] {
        var lengths: [Int] = []
        var end = start
        while end < tokens.count, end - start < 4 {
            if end > start, tokens[end].boundaryBefore || vocabulary.allMarkers.contains(tokens[end].folded) { break }
            if startsValueField(at: end) || tokens[end].isNumber { break }
            end += 1
            lengths.append(end - start)
        }
        return lengths
    }

    /// A former district named with a small spelling error after `HUYEN`: how many words it took.
    func formerDistrictNear(from start: Int) -> Int? {
        for length in tolerantRunLengths(from: start).reversed() {
            if gazetteer.areaCodes(nearFormerDistrictKey: tokens[start..<(start + length)].map(\.key).joined()) != nil { return length }
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
                if let match = (0..<value.count).lazy.compactMap({ sub.matchArea(at: $0) }).first ?? sub.matchArea(at: 0, tolerant: true) {
                    origins.append((true, match))
                } else {
                    originText = text
                }
            case .province: provinceHint = TextFolding.matchKey(gazetteer.places(forKey: TextFolding.matchKey(text)).first?.name ?? text)
            case .destination:
                if let (place, _) = (0..<value.count).lazy.compactMap({ sub.matchPlace(at: $0) }).first {
                    destination = .init(text: text, code: place.code, name: place.name, country: place.country)
                } else if let (place, _) = sub.matchPlace(at: 0, tolerant: true) {
                    destination = .init(text: text, code: place.code, name: place.name, country: place.country)
                    flags.append("fuzzy_destination")
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
