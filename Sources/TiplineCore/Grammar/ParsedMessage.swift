/// What the keyword grammar read from one message.
///
/// The JSON field names here (`child.age`, `origin.area_code`, …) are used wherever a report is shown as JSON:
/// `tipline parse --json`, the HTTP API and exports. Absent values are written as `null`, never left out.
public struct ParsedMessage: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case tip, alert, command, unknown
    }

    public enum Command: String, Sendable, Codable, CaseIterable {
        case add, home, status, help, stop, start, ack, pass, close, list, show
        case dutyOn = "duty_on"
        case dutyOff = "duty_off"
        /// A roster number proving itself with the code of its invitation (`XACNHAN 4821`).
        case confirm

        /// Commands only registered officers may use.
        public var isOfficerCommand: Bool {
            switch self {
            case .ack, .pass, .close, .list, .show, .dutyOn, .dutyOff, .confirm: true
            default: false
            }
        }

        /// Commands that name a report number.
        public var takesNumber: Bool {
            switch self {
            case .add, .home, .status, .ack, .pass, .close, .show, .confirm: true
            default: false
            }
        }
    }

    public enum Language: String, Sendable, Codable, CaseIterable {
        case vi, en
    }

    public enum Sex: String, Sendable, Codable {
        case female, male
    }

    public struct Child: Sendable, Equatable, Codable {
        public var name: String?
        public var age: Int?
        public var sex: Sex?
        public init(name: String? = nil, age: Int? = nil, sex: Sex? = nil) {
            self.name = name
            self.age = age
            self.sex = sex
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(age, forKey: .age)
            try c.encode(sex, forKey: .sex)
        }
    }

    public struct Origin: Sendable, Equatable, Codable {
        public var areaCode: String?
        public var areaName: String?
        public var province: String?
        public var village: String?
        /// Area codes when the name was ambiguous.
        public var candidates: [String]
        /// What was typed when no area matched.
        public var text: String?
        public init(areaCode: String? = nil, areaName: String? = nil, province: String? = nil, village: String? = nil, candidates: [String] = [], text: String? = nil) {
            self.areaCode = areaCode
            self.areaName = areaName
            self.province = province
            self.village = village
            self.candidates = candidates
            self.text = text
        }
        enum CodingKeys: String, CodingKey {
            case areaCode = "area_code", areaName = "area_name", province, village, candidates, text
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            areaCode = try c.decodeIfPresent(String.self, forKey: .areaCode)
            areaName = try c.decodeIfPresent(String.self, forKey: .areaName)
            province = try c.decodeIfPresent(String.self, forKey: .province)
            village = try c.decodeIfPresent(String.self, forKey: .village)
            candidates = try c.decodeIfPresent([String].self, forKey: .candidates) ?? []
            text = try c.decodeIfPresent(String.self, forKey: .text)
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(areaCode, forKey: .areaCode)
            try c.encode(areaName, forKey: .areaName)
            try c.encode(province, forKey: .province)
            try c.encode(village, forKey: .village)
            try c.encode(candidates, forKey: .candidates)
            try c.encode(text, forKey: .text)
        }
    }

    public struct Destination: Sendable, Equatable, Codable {
        /// As typed.
        public var text: String?
        public var code: String?
        public var name: String?
        public var country: String?
        public init(text: String? = nil, code: String? = nil, name: String? = nil, country: String? = nil) {
            self.text = text
            self.code = code
            self.name = name
            self.country = country
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(text, forKey: .text)
            try c.encode(code, forKey: .code)
            try c.encode(name, forKey: .name)
            try c.encode(country, forKey: .country)
        }
    }

    public struct Companion: Sendable, Equatable, Codable {
        public var name: String?
        /// E.164.
        public var phone: String?
        public init(name: String? = nil, phone: String? = nil) {
            self.name = name
            self.phone = phone
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(phone, forKey: .phone)
        }
    }

    public var kind: Kind
    public var command: Command?
    /// The report number a command names.
    public var number: Int?
    public var urgent: Bool
    public var language: Language
    public var child: Child
    public var origin: Origin
    public var destination: Destination
    /// Day the child left, `YYYY-MM-DD` in the deployment's time zone.
    public var leftOn: String?
    public var companion: Companion
    /// Free text: a command's text, or what the grammar did not place in a field.
    public var note: String?
    /// How a case ended: the outcome code right after a close's number (`XONG 1001 VE …`); the rest is the note.
    public var outcome: Outcome?
    /// Required fields not found, of `age`, `origin`, `destination`.
    public var missing: [String]
    /// Things staff should look at: `age_18_or_over`, `origin_ambiguous`.
    public var flags: [String]

    public init(kind: Kind, command: Command? = nil, number: Int? = nil, urgent: Bool = false, language: Language = .vi,
                child: Child = Child(), origin: Origin = Origin(), destination: Destination = Destination(),
                leftOn: String? = nil, companion: Companion = Companion(), note: String? = nil, outcome: Outcome? = nil,
                missing: [String] = [], flags: [String] = []) {
        self.kind = kind
        self.command = command
        self.number = number
        self.urgent = urgent
        self.language = language
        self.child = child
        self.origin = origin
        self.destination = destination
        self.leftOn = leftOn
        self.companion = companion
        self.note = note
        self.outcome = outcome
        self.missing = missing
        self.flags = flags
    }

    /// Fills the fields this report lacks from `added` (a follow-up message), and recomputes `missing` and `urgent`.
    public mutating func fill(from added: ParsedMessage) {
        if child.name == nil { child.name = added.child.name }
        if child.age == nil { child.age = added.child.age }
        if child.sex == nil { child.sex = added.child.sex }
        if origin.areaCode == nil, added.origin.areaCode != nil { origin = added.origin }
        if origin.village == nil { origin.village = added.origin.village }
        if destination.code == nil, destination.text == nil || added.destination.code != nil, added.destination.text != nil {
            destination = added.destination
        }
        if leftOn == nil { leftOn = added.leftOn }
        if companion.name == nil { companion.name = added.companion.name }
        if companion.phone == nil { companion.phone = added.companion.phone }
        urgent = urgent || added.urgent
        missing = missing.filter { field in
            switch field {
            case "age": child.age == nil
            case "origin": origin.areaCode == nil
            case "destination": destination.code == nil && destination.text == nil
            default: true
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case kind, command, number, urgent, language, child, origin, destination
        case leftOn = "left_on"
        case companion, note, outcome, missing, flags
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        command = try c.decodeIfPresent(Command.self, forKey: .command)
        number = try c.decodeIfPresent(Int.self, forKey: .number)
        urgent = try c.decodeIfPresent(Bool.self, forKey: .urgent) ?? false
        language = try c.decodeIfPresent(Language.self, forKey: .language) ?? .vi
        child = try c.decodeIfPresent(Child.self, forKey: .child) ?? Child()
        origin = try c.decodeIfPresent(Origin.self, forKey: .origin) ?? Origin()
        destination = try c.decodeIfPresent(Destination.self, forKey: .destination) ?? Destination()
        leftOn = try c.decodeIfPresent(String.self, forKey: .leftOn)
        companion = try c.decodeIfPresent(Companion.self, forKey: .companion) ?? Companion()
        note = try c.decodeIfPresent(String.self, forKey: .note)
        outcome = try c.decodeIfPresent(Outcome.self, forKey: .outcome)
        missing = try c.decodeIfPresent([String].self, forKey: .missing) ?? []
        flags = try c.decodeIfPresent([String].self, forKey: .flags) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(command, forKey: .command)
        try c.encode(number, forKey: .number)
        try c.encode(urgent, forKey: .urgent)
        try c.encode(language, forKey: .language)
        try c.encode(child, forKey: .child)
        try c.encode(origin, forKey: .origin)
        try c.encode(destination, forKey: .destination)
        try c.encode(leftOn, forKey: .leftOn)
        try c.encode(companion, forKey: .companion)
        try c.encode(note, forKey: .note)
        try c.encode(outcome, forKey: .outcome)
        try c.encode(missing, forKey: .missing)
        try c.encode(flags, forKey: .flags)
    }
}
