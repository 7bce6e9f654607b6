/// The words the grammar recognises, in folded form (no diacritics, upper case).
///
/// The defaults below are the v1 grammar (`docs/grammar.md`); a deployment can replace any list through
/// `config/vocabulary.yaml`, so a new synonym is a data change, not a code change.
public struct Vocabulary: Sendable, Equatable {
    /// What a first word means.
    public enum Intent: Sendable, Equatable, Hashable {
        case tip
        case alert
        case command(ParsedMessage.Command)
    }

    public struct Keyword: Sendable, Equatable {
        public var intent: Intent
        public var language: ParsedMessage.Language
        public init(_ intent: Intent, _ language: ParsedMessage.Language) {
            self.intent = intent
            self.language = language
        }
    }

    /// First word(s), folded and joined by one space ("HUONG DAN"), to their intent.
    public var keywords: [String: Keyword]
    public var ageUnits: Set<String>
    public var ageWords: Set<String>
    public var female: Set<String>
    public var male: Set<String>
    /// `NAM` means male only right after the age.
    public var maleAfterAge: Set<String>
    /// Words after a one- or two-digit number that make it a count or a span of time, not an age: one word or two
    /// joined by a space ("2 *ban*", "3 *ngay*", "5 *nam truoc*"). The child nouns do too ("2 chau").
    public var notAgeAfterNumber: Set<String>
    public var villageMarkers: Set<String>
    /// Words after which a village marker is not one ("bi *ban*": sold).
    public var notVillageAfter: Set<String>
    public var communeMarkers: Set<String>
    /// Commune markers that name the unit ("xa", "ward"): after one, a name not in the gazetteer is kept as typed.
    public var communeTypeMarkers: Set<String>
    public var districtMarkers: Set<String>
    public var destinationMarkers: Set<String>
    /// Destination markers that count only when one of ``destinationParticles`` follows ("went *to* Ha Noi").
    public var destinationVerbs: Set<String>
    /// What must follow one of ``destinationVerbs``.
    public var destinationParticles: Set<String>
    /// Words that may stand between a destination marker and the place ("di *lam o* Ha Noi").
    public var destinationFillers: Set<String>
    public var companionMarkers: Set<String>
    /// Words for a child that are not a name ("be gai", "chau").
    public var childNouns: Set<String>
    /// Words that end a name ("Lan *bi* dua di").
    public var nameStops: Set<String>
    /// Phrases (folded, space-joined) that make a tip urgent.
    public var urgentPhrases: [String]
    /// Words before a date that belong to it ("*ngay* 3/5", "*on* 3/5").
    public var dateMarkers: Set<String>
    /// Days named relative to the day a message arrives, one word or two joined by a space, to how many days back
    /// ("hom qua": 1).
    public var relativeDays: [String: Int]
    /// Words after a number that count back from the day a message arrives, one word or two joined by a space, to the
    /// days in one unit ("3 *ngay truoc*": 1, "2 *weeks ago*": 7).
    public var agoUnits: [String: Int]
    /// Tags of the tagged form `TEN: …; TUOI: …`.
    public var tags: [String: Tag]
    /// Words of greeting and politeness that may stand before a keyword ("Chao anh, TRE …").
    public var greetings: Set<String>
    /// Numbers written as words ("muoi sau" is 16): units, tens and the English teens. A word alone is an age only
    /// with an age unit ("tam tuoi"), except the teens ("fourteen"); "muoi X" is one anywhere after the name.
    public var numberWords: [String: Int]
    /// Outcome codes, one word or two joined by a space, read right after the number of a close
    /// (`XONG 1001 *VE* em da ve nha`); anywhere else they are ordinary words.
    public var outcomes: [String: Outcome]

    public enum Tag: String, Sendable, Equatable, CaseIterable {
        case name, age, sex, village, commune, province, destination, date, companion, phone
    }

    public static let standard = Vocabulary(
        keywords: [
            "TRE": .init(.tip, .vi), "TREEM": .init(.tip, .vi), "TRE EM": .init(.tip, .vi),
            "REPORT": .init(.tip, .en), "TIP": .init(.tip, .en),
            "KHAN": .init(.alert, .vi), "KHAN CAP": .init(.alert, .vi), "KHANCAP": .init(.alert, .vi),
            "CUU": .init(.alert, .vi), "SOS": .init(.alert, .vi), "URGENT": .init(.alert, .en),
            "BS": .init(.command(.add), .vi), "ADD": .init(.command(.add), .en),
            "VE": .init(.command(.home), .vi), "HOME": .init(.command(.home), .en),
            "KT": .init(.command(.status), .vi), "STATUS": .init(.command(.status), .en),
            "HD": .init(.command(.help), .vi), "HUONG DAN": .init(.command(.help), .vi), "HUONGDAN": .init(.command(.help), .vi),
            "?": .init(.command(.help), .vi), "HELP": .init(.command(.help), .en),
            "STOP": .init(.command(.stop), .vi), "HUY": .init(.command(.stop), .vi),
            "START": .init(.command(.start), .vi), "BATDAU": .init(.command(.start), .vi), "BAT DAU": .init(.command(.start), .vi),
            "NHAN": .init(.command(.ack), .vi), "OK": .init(.command(.ack), .vi), "ACK": .init(.command(.ack), .en),
            "CHUYEN": .init(.command(.pass), .vi), "PASS": .init(.command(.pass), .en),
            "XONG": .init(.command(.close), .vi), "DONE": .init(.command(.close), .en),
            "XEM": .init(.command(.list), .vi), "LIST": .init(.command(.list), .en), "SHOW": .init(.command(.show), .en),
            "TRUC": .init(.command(.dutyOn), .vi), "DUTY ON": .init(.command(.dutyOn), .en),
            "NGHI": .init(.command(.dutyOff), .vi), "DUTY OFF": .init(.command(.dutyOff), .en),
            "XACNHAN": .init(.command(.confirm), .vi), "XAC NHAN": .init(.command(.confirm), .vi), "CONFIRM": .init(.command(.confirm), .en),
        ],
        ageUnits: ["T", "TUOI", "Y", "YO", "YRS", "YEARS", "YEAR"],
        ageWords: ["TUOI", "AGE", "AGED"],
        female: ["NU", "GAI", "GIRL", "F", "FEMALE"],
        male: ["TRAI", "BOY", "M", "MALE"],
        maleAfterAge: ["NAM"],
        notAgeAfterNumber: ["BAN", "NGAY", "THANG", "TUAN", "DAYS", "DAY", "WEEKS", "MONTHS", "GIO", "HOURS", "NAM TRUOC"],
        villageMarkers: ["THON", "BAN", "XOM", "LANG", "VILLAGE"],
        notVillageAfter: ["BI"],
        communeMarkers: ["XA", "PHUONG", "P", "O", "TAI", "FROM", "IN", "COMMUNE", "WARD"],
        communeTypeMarkers: ["XA", "PHUONG", "P", "COMMUNE", "WARD"],
        districtMarkers: ["HUYEN", "DISTRICT"],
        destinationMarkers: ["DI", "DEN", "VAO", "RA", "SANG", "LEN", "TOI", "TO", "WENT", "GONE"],
        destinationVerbs: ["WENT", "GONE"],
        destinationParticles: ["TO"],
        destinationFillers: ["LAM", "VIEC", "O", "TAI", "QUA", "TO", "IN", "WORK"],
        companionMarkers: ["VOI", "CUNG", "THEO", "WITH"],
        childNouns: ["BE", "EM", "CHAU", "CON", "TRE", "DUA", "CHILD", "KID", "KIDS", "CHILDREN", "NGUOI"],
        nameStops: ["BI", "DANG", "DA", "DUOC", "LA", "CUA", "VA", "HAS", "IS", "WAS", "BEEN", "CO", "NHA", "MAT"],
        urgentPhrases: ["BI BAN", "BI GIU", "BIEN GIOI", "MAT LIEN LAC", "BI LUA", "SOLD", "TRAFFICKED", "LOST CONTACT", "BORDER"],
        dateMarkers: ["NGAY", "ON", "TU"],
        relativeDays: [
            "HOMNAY": 0, "HOM NAY": 0, "HOMQUA": 1, "HOM QUA": 1, "HOMKIA": 2, "HOM KIA": 2, "TUAN TRUOC": 7,
            "TODAY": 0, "YESTERDAY": 1, "LAST WEEK": 7,
        ],
        agoUnits: ["NGAY TRUOC": 1, "TUAN TRUOC": 7, "DAYS AGO": 1, "DAY AGO": 1, "WEEKS AGO": 7, "WEEK AGO": 7],
        tags: [
            "TEN": .name, "TUOI": .age, "GT": .sex, "THON": .village, "XA": .commune, "TINH": .province,
            "DI": .destination, "NGAY": .date, "VOI": .companion, "SDT": .phone,
            "NAME": .name, "AGE": .age, "SEX": .sex, "VILLAGE": .village, "COMMUNE": .commune, "PROVINCE": .province,
            "TO": .destination, "DATE": .date, "WITH": .companion, "PHONE": .phone,
        ],
        greetings: [
            "CHAO", "XIN", "ALO", "A", "LO", "HELLO", "HI", "KINH", "GUI", "THUA", "DA", "VANG", "CHO", "HOI",
            "ANH", "CHI", "EM", "CHAU", "CHU", "CO", "BAC", "OI", "TONG", "DAI", "CAN", "BO", "DEAR", "SIR", "MADAM",
        ],
        numberWords: [
            "MOT": 1, "HAI": 2, "BA": 3, "BON": 4, "TU": 4, "NAM": 5, "LAM": 5, "NHAM": 5, "SAU": 6, "BAY": 7, "TAM": 8,
            "CHIN": 9, "MUOI": 10,
            "ONE": 1, "TWO": 2, "THREE": 3, "FOUR": 4, "FIVE": 5, "SIX": 6, "SEVEN": 7, "EIGHT": 8, "NINE": 9, "TEN": 10,
            "ELEVEN": 11, "TWELVE": 12, "THIRTEEN": 13, "FOURTEEN": 14, "FIFTEEN": 15, "SIXTEEN": 16, "SEVENTEEN": 17,
            "EIGHTEEN": 18, "NINETEEN": 19, "TWENTY": 20,
        ],
        outcomes: [
            "VE": .returned, "HOME": .returned, "RETURNED": .returned,
            "CHAN": .stopped, "STOPPED": .stopped,
            "CONGAN": .police, "CONG AN": .police, "POLICE": .police,
            "XH": .social, "XAHOI": .social, "XA HOI": .social, "SOCIAL": .social,
            "TIMTHAY": .found, "TIM THAY": .found, "FOUND": .found,
            "KHONGTHAY": .notFound, "KHONG THAY": .notFound, "NOTFOUND": .notFound, "NOT FOUND": .notFound,
            "SAI": .falseReport, "BAOSAI": .falseReport, "BAO SAI": .falseReport, "FALSE": .falseReport,
        ]
    )

    /// Keyword words that take a report number and may be glued to it (`OK1077`).
    func isNumberedCommand(_ folded: String) -> Bool {
        if case .command(let command)? = keywords[folded]?.intent { return command.takesNumber }
        return false
    }

    /// Every marker word, for deciding where a free-text value ends.
    var allMarkers: Set<String> {
        villageMarkers.union(communeMarkers).union(destinationMarkers).union(companionMarkers).union(districtMarkers)
    }
}
