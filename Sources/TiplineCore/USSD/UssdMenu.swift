import Foundation

/// The USSD screens' texts by language and key, from `config/ussd.yaml`.
public struct UssdCatalogue: Sendable {
    public let texts: [ParsedMessage.Language: [String: String]]
    public init(texts: [ParsedMessage.Language: [String: String]]) { self.texts = texts }

    public static let keys = ["root", "tip_name", "tip_age", "tip_sex", "commune_type", "commune_pick", "tip_destination",
                              "tip_destination_text", "tip_when", "tip_confirm", "tip_done", "alert_what", "alert_done",
                              "status_number", "status_result", "status_not_found", "expired", "hint_number", "hint_choice",
                              "hint_empty", "hint_not_found", "summary", "sex_male", "sex_female", "sex_unknown"]

    public func text(_ key: String, _ language: ParsedMessage.Language, _ values: [String: String] = [:]) -> String {
        var text = texts[language]?[key] ?? texts[.vi]?[key] ?? key
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text.replacingOccurrences(of: "{hint}", with: "")
    }
}

/// Where a USSD session stands. Kept on the server between requests: progress comes from here, not from the
/// `*`-joined text the aggregator sends, so a `*` inside a typed answer cannot break the flow.
public struct UssdState: Codable, Sendable, Equatable {
    public enum Step: String, Codable, Sendable, CaseIterable {
        case root, tipName, tipAge, tipSex, tipCommuneType, tipCommunePick, tipDestination, tipDestinationText, tipWhen, tipConfirm
        case alertCommuneType, alertCommunePick, alertWhat, statusNumber
    }

    public var step: Step = .root
    public var language: ParsedMessage.Language = .vi
    public var history: [Step] = []
    public var name: String?
    public var age: Int?
    public var sex: ParsedMessage.Sex?
    public var candidates: [String] = []
    public var areaCode: String?
    public var destinationCode: String?
    public var destinationText: String?
    /// 1 today, 2 yesterday, 3 this week, 4 earlier, 5 unknown.
    public var when: Int?
    public var what: String?

    public init() {}

    /// Enough to keep as a partial report if the call drops: a commune and an age.
    public var isWorthKeeping: Bool { areaCode != nil && age != nil }
}

/// What a USSD request leads to.
public enum UssdOutcome: Sendable, Equatable {
    /// Show this screen and wait (`CON`).
    case next(String)
    /// Show and close (`END`).
    case end(String)
    /// The reporter confirmed a tip: store it, then answer with `UssdMenu.done`.
    case submitTip
    /// The reporter described a child in danger: store the alert.
    case submitAlert
    /// The reporter asked the status of report `number`.
    case lookUp(number: Int)
}

/// The menu tree (docs/ussd.md): pure, the caller keeps the state and does what the outcome asks.
public struct UssdMenu: Sendable {
    public let gazetteer: Gazetteer
    public let catalogue: UssdCatalogue
    /// The most common destinations, offered as a numbered list (1–6); empty when none of the codes is a known place.
    public let destinations: [Place]
    /// The septets one USSD screen holds.
    public static let maxScreen = 182

    /// The place codes of the destination list: Ho Chi Minh City, Hanoi, Bac Ninh, Binh Duong, China, Malaysia.
    public static let destinationCodes = ["79", "1", "24", "75", "CN", "MY"]

    public init(gazetteer: Gazetteer, catalogue: UssdCatalogue, destinationCodes: [String] = UssdMenu.destinationCodes) {
        self.gazetteer = gazetteer
        self.catalogue = catalogue
        self.destinations = destinationCodes.compactMap { code in gazetteer.places.first { $0.code == code } }
    }

    /// The first screen.
    public func start() -> (UssdState, UssdOutcome) {
        let state = UssdState()
        return (state, .next(screen(state)))
    }

    /// Applies one answer.
    public func advance(_ current: UssdState, input raw: String) -> (UssdState, UssdOutcome) {
        var state = current
        let input = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if input == "0", state.step != .root {
            state.step = state.history.popLast() ?? .root
            return (state, .next(screen(state)))
        }
        func go(_ step: UssdState.Step) -> (UssdState, UssdOutcome) {
            state.history.append(state.step)
            state.step = step
            return (state, .next(screen(state)))
        }
        func again(_ hint: String) -> (UssdState, UssdOutcome) {
            (state, .next(screen(state, hint: catalogue.text(hint, state.language))))
        }
        let number = Int(input)
        switch state.step {
        case .root:
            switch number {
            case 1: return go(.tipName)
            case 2: return go(.alertCommuneType)
            case 3: return go(.statusNumber)
            case 4:
                state.language = state.language == .vi ? .en : .vi
                return (state, .next(screen(state)))
            default: return again("hint_choice")
            }
        case .tipName:
            guard !input.isEmpty else { return again("hint_empty") }
            state.name = input == "1" ? nil : TextFolding.titleCased(String(input.prefix(60)))
            return go(.tipAge)
        case .tipAge:
            guard let age = number, (1...30).contains(age) else { return again("hint_number") }
            state.age = age
            return go(.tipSex)
        case .tipSex:
            guard number == 1 || number == 2 else { return again("hint_choice") }
            state.sex = number == 1 ? .male : .female
            return go(.tipCommuneType)
        case .tipCommuneType, .alertCommuneType:
            let matches = gazetteer.areas(matchingPrefix: input, limit: 5)
            guard !input.isEmpty, !matches.isEmpty else { return again(input.isEmpty ? "hint_empty" : "hint_not_found") }
            state.candidates = matches.map(\.code)
            return go(state.step == .tipCommuneType ? .tipCommunePick : .alertCommunePick)
        case .tipCommunePick, .alertCommunePick:
            guard let choice = number, choice >= 1, choice <= state.candidates.count else { return again("hint_choice") }
            state.areaCode = state.candidates[choice - 1]
            return go(state.step == .tipCommunePick ? .tipDestination : .alertWhat)
        case .tipDestination:
            if number == 7 { return go(.tipDestinationText) }
            guard let choice = number, choice >= 1, choice <= destinations.count else { return again("hint_choice") }
            state.destinationCode = destinations[choice - 1].code
            state.destinationText = nil
            return go(.tipWhen)
        case .tipDestinationText:
            guard !input.isEmpty else { return again("hint_empty") }
            let key = TextFolding.matchKey(input)
            state.destinationCode = gazetteer.places(forKey: key).first?.code
            state.destinationText = String(input.prefix(60))
            return go(.tipWhen)
        case .tipWhen:
            guard let choice = number, (1...5).contains(choice) else { return again("hint_choice") }
            state.when = choice
            return go(.tipConfirm)
        case .tipConfirm:
            guard number == 1 else { return again("hint_choice") }
            return (state, .submitTip)
        case .alertWhat:
            guard !input.isEmpty else { return again("hint_empty") }
            state.what = String(input.prefix(160))
            return (state, .submitAlert)
        case .statusNumber:
            guard let report = number, report > 0 else { return again("hint_number") }
            return (state, .lookUp(number: report))
        }
    }

    /// The screen for a state, with an optional correction above it.
    public func screen(_ state: UssdState, hint: String = "") -> String {
        let language = state.language
        let key: String
        var values: [String: String] = [:]
        switch state.step {
        case .root: key = "root"
        case .tipName: key = "tip_name"
        case .tipAge: key = "tip_age"
        case .tipSex: key = "tip_sex"
        case .tipCommuneType, .alertCommuneType: key = "commune_type"
        case .tipCommunePick, .alertCommunePick:
            key = "commune_pick"
            values["list"] = state.candidates.enumerated().map { index, code in
                "\(index + 1). " + TextFolding.asciiFold(gazetteer.area(code: code).map(\.shortName) ?? code)
            }.joined(separator: "\n")
        case .tipDestination:
            key = "tip_destination"
            values["list"] = destinations.enumerated().map { "\($0 + 1). " + TextFolding.asciiFold(Area.strippingPrefix($1.name, ["Thành phố "])) }
                .joined(separator: "\n")
        case .tipDestinationText: key = "tip_destination_text"
        case .tipWhen: key = "tip_when"
        case .tipConfirm:
            key = "tip_confirm"
            values["summary"] = summary(state)
        case .alertWhat: key = "alert_what"
        case .statusNumber: key = "status_number"
        }
        let text = hint + catalogue.text(key, language, values)
        return UssdMenu.fit(text)
    }

    /// The confirm screen's summary: what the reporter typed, on their own phone's screen.
    func summary(_ state: UssdState) -> String {
        let language = state.language
        let sex = catalogue.text(state.sex == .male ? "sex_male" : state.sex == .female ? "sex_female" : "sex_unknown", language)
        let commune = state.areaCode.flatMap(gazetteer.area(code:)).map { TextFolding.asciiFold($0.shortName) } ?? "?"
        let destination = state.destinationCode.flatMap { code in gazetteer.places.first { $0.code == code } }
            .map { TextFolding.asciiFold(Area.strippingPrefix($0.name, ["Thành phố "])) } ?? TextFolding.asciiFold(state.destinationText ?? "?")
        return catalogue.text("summary", language, ["sex": sex, "age": state.age.map(String.init) ?? "?", "commune": commune,
                                                    "destination": destination])
    }

    /// Folds to GSM-7 and cuts to the 182 septets a screen holds (`{ } [ ] ~ | ^ € \` take two each).
    public static func fit(_ text: String) -> String {
        SMSText.truncated(TextFolding.gsm7(text), toSeptets: maxScreen, ellipsis: "..")
    }

    /// The report a finished session makes: the same record the SMS grammar produces.
    public func report(from state: UssdState, kind: ParsedMessage.Kind, at instant: Date, timeZone: TimeZone) -> ParsedMessage {
        var message = ParsedMessage(kind: kind, language: state.language)
        message.child = .init(name: state.name, age: state.age, sex: state.sex)
        if let code = state.areaCode, let area = gazetteer.area(code: code) {
            message.origin = .init(areaCode: area.code, areaName: area.name, province: area.province)
        }
        if let code = state.destinationCode, let place = gazetteer.places.first(where: { $0.code == code }) {
            message.destination = .init(text: state.destinationText ?? place.name, code: place.code, name: place.name, country: place.country)
        } else if let text = state.destinationText {
            message.destination = .init(text: text)
        }
        let today = LocalDate(instant, in: timeZone)
        switch state.when {
        case 1: message.leftOn = today.description
        case 2: message.leftOn = today.adding(days: -1).description
        case 3: message.note = "left this week"
        case 4: message.note = "left earlier"
        default: break
        }
        if let what = state.what { message.note = what }
        message.urgent = kind == .alert || message.destination.country.map { $0 != "VN" } == true
        var missing: [String] = []
        if kind == .tip, message.child.age == nil { missing.append("age") }
        if message.origin.areaCode == nil { missing.append("origin") }
        if kind == .tip, message.destination.code == nil, message.destination.text == nil { missing.append("destination") }
        message.missing = missing
        return message
    }
}
