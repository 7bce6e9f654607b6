import Foundation
import Testing
@testable import TiplineCore

/// The sample deployment's USSD screens and menu, without the server's YAML reader.
enum UssdFixtures {
    /// `config/ussd.yaml`, read line by line: a language at the top level, then one `key: "text"` a line, each text a
    /// double-quoted string whose escapes (`\n`) read the same in JSON.
    static let catalogue: UssdCatalogue = {
        let url = Fixtures.packageRoot.appendingPathComponent("config/ussd.yaml")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        var texts: [ParsedMessage.Language: [String: String]] = [:]
        var language: ParsedMessage.Language?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            if !line.hasPrefix(" "), line.hasSuffix(":") {
                language = ParsedMessage.Language(rawValue: String(line.dropLast()))
                continue
            }
            guard let current = language, let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let quoted = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard let value = try? JSONDecoder().decode([String].self, from: Data(("[" + quoted + "]").utf8)).first else { continue }
            texts[current, default: [:]][key] = value
        }
        return UssdCatalogue(texts: texts)
    }()

    static let menu = UssdMenu(gazetteer: Fixtures.gazetteer, catalogue: catalogue)
}

@Suite("USSD menu")
struct UssdMenuTests {
    let menu = UssdFixtures.menu

    /// The text of a screen that waits for an answer; for any other outcome, a line that says so (and matches no screen).
    func screen(_ outcome: UssdOutcome) -> String {
        if case .next(let text) = outcome { return text }
        return "(not a screen: \(outcome))"
    }

    /// Answers `inputs` in turn from the first screen; the state and outcome after the last.
    func play(_ inputs: [String], using custom: UssdMenu? = nil) -> (UssdState, UssdOutcome) {
        let menu = custom ?? self.menu
        var (state, outcome) = menu.start()
        for input in inputs {
            (state, outcome) = menu.advance(state, input: input)
        }
        return (state, outcome)
    }

    @Test("the sample screens are all there, in both languages")
    func catalogueIsComplete() {
        for language in ParsedMessage.Language.allCases {
            for key in UssdCatalogue.keys {
                #expect(UssdFixtures.catalogue.texts[language]?[key] != nil, "\(language) \(key)")
            }
        }
    }

    @Test("the first screen is the Vietnamese main menu")
    func start() throws {
        let (state, outcome) = menu.start()
        #expect(state == UssdState())
        let text = screen(outcome)
        #expect(text.hasPrefix("Bao ve tre em\n1. Bao tre di lam xa"), "\(text)")
        #expect(!text.contains("{"), "no placeholder left: \(text)")
    }

    @Test("a tip: every step, the summary, then submit; the report is what the SMS grammar would make")
    func tipPath() throws {
        let inputs = ["1", "Lan", "14", "2", "lung c", "1", "5", "2"]
        let expected = ["Ten cua tre?", "Tre bao nhieu tuoi?", "Tre la:", "Tre o xa nao?", "Chon xa:\n1. Lung Cu", "Tre di dau?\n1. Ho Chi Minh",
                        "Tre di khi nao?", "Gui bao cao?"]
        var state = menu.start().0
        for (input, prefix) in zip(inputs, expected) {
            let (next, outcome) = menu.advance(state, input: input)
            state = next
            let text = screen(outcome)
            #expect(text.hasPrefix(prefix), "after \(input): \(text)")
        }
        #expect(state.step == .tipConfirm)
        #expect(menu.screen(state).contains("gai 14 tuoi, Lung Cu, di Trung Quoc"), "\(menu.screen(state))")
        #expect(state.name == "Lan" && state.age == 14 && state.sex == .female)
        #expect(state.areaCode == "715" && state.destinationCode == "CN" && state.destinationText == nil && state.when == 2)
        #expect(state.history == [.root, .tipName, .tipAge, .tipSex, .tipCommuneType, .tipCommunePick, .tipDestination, .tipWhen])

        let (submitted, outcome) = menu.advance(state, input: "1")
        #expect(outcome == .submitTip)
        let received = ISO8601DateFormatter().date(from: "2026-11-29T10:00:00+07:00")!
        let report = menu.report(from: submitted, kind: .tip, at: received, timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!)
        #expect(report.child == ParsedMessage.Child(name: "Lan", age: 14, sex: .female))
        #expect(report.origin.areaCode == "715" && report.destination.code == "CN" && report.destination.country == "CN")
        #expect(report.leftOn == "2026-11-28" && report.urgent && report.missing.isEmpty)
    }

    @Test("1 for the name means unknown; 7 for the place asks for it as text")
    func unknownNameAndOtherPlace() throws {
        let (state, outcome) = play(["1", "1", "9", "1", "lung c", "1", "7", "Sai Gon", "5"])
        #expect(state.name == nil && state.age == 9 && state.sex == .male)
        #expect(state.destinationText == "Sai Gon" && state.destinationCode == "79", "an alias of Ho Chi Minh City")
        #expect(screen(outcome).contains("trai 9 tuoi, Lung Cu, di Ho Chi Minh"))
    }

    @Test("an alert: the commune, what is happening, then submit")
    func alertPath() throws {
        #expect(screen(play(["2"]).1).hasPrefix("Tre o xa nao?"))
        var (state, outcome) = play(["2", "meo", "1"])
        #expect(screen(outcome).hasPrefix("Chuyen gi dang xay ra?"))
        #expect(state.step == .alertWhat && state.areaCode == "769")
        (state, outcome) = menu.advance(state, input: "nguoi la dua 2 be * len xe")
        #expect(outcome == .submitAlert)
        #expect(state.what == "nguoi la dua 2 be * len xe")
        let report = menu.report(from: state, kind: .alert, at: Date(), timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!)
        #expect(report.kind == .alert && report.urgent && report.origin.areaCode == "769" && report.note == state.what)
    }

    @Test("a status check asks for a number and looks it up")
    func statusPath() throws {
        #expect(play(["3", "1001"]).1 == .lookUp(number: 1001))
        #expect(screen(play(["3", "abc"]).1).hasPrefix("Xin go mot so. So bao cao cua ban?"))
        #expect(screen(play(["3", "0"]).1).hasPrefix("Bao ve tre em"), "0 goes back, it is not report 0")
    }

    @Test("0 goes back one step at a time, to the main menu; at the main menu it is not a choice")
    func back() throws {
        let (afterName, _) = play(["1", "Lan"])
        #expect(afterName.step == .tipAge)
        var (state, outcome) = menu.advance(afterName, input: "0")
        #expect(state.step == .tipName && state.history == [.root])
        #expect(screen(outcome).hasPrefix("Ten cua tre?"))
        (state, outcome) = menu.advance(state, input: " 0 ")
        #expect(state.step == .root && state.history.isEmpty)
        #expect(screen(outcome).hasPrefix("Bao ve tre em"))
        (state, outcome) = menu.advance(state, input: "0")
        #expect(state.step == .root)
        #expect(screen(outcome).hasPrefix("Xin chon mot so trong danh sach. Bao ve tre em"))
    }

    @Test("invalid input repeats the screen with a hint and keeps the step")
    func hints() throws {
        let cases: [([String], UssdState.Step, String)] = [
            (["9"], .root, "Xin chon mot so trong danh sach. Bao ve tre em"),
            (["1", ""], .tipName, "Xin go noi dung. Ten cua tre?"),
            (["1", "Lan", "abc"], .tipAge, "Xin go mot so. Tre bao nhieu tuoi?"),
            (["1", "Lan", "45"], .tipAge, "Xin go mot so. Tre bao nhieu tuoi?"),
            (["1", "Lan", "14", "3"], .tipSex, "Xin chon mot so trong danh sach. Tre la:"),
            (["1", "Lan", "14", "2", "zzzz"], .tipCommuneType, "Khong tim thay xa nay. Tre o xa nao?"),
            (["1", "Lan", "14", "2", "   "], .tipCommuneType, "Xin go noi dung. Tre o xa nao?"),
            (["1", "Lan", "14", "2", "lung c", "9"], .tipCommunePick, "Xin chon mot so trong danh sach. Chon xa:"),
            (["1", "Lan", "14", "2", "lung c", "1", "8"], .tipDestination, "Xin chon mot so trong danh sach. Tre di dau?"),
            (["1", "Lan", "14", "2", "lung c", "1", "7", ""], .tipDestinationText, "Xin go noi dung. Go ten noi tre di:"),
            (["1", "Lan", "14", "2", "lung c", "1", "1", "6"], .tipWhen, "Xin chon mot so trong danh sach. Tre di khi nao?"),
            (["1", "Lan", "14", "2", "lung c", "1", "1", "1", "2"], .tipConfirm, "Xin chon mot so trong danh sach. Gui bao cao?"),
            (["2", "meo", "1", ""], .alertWhat, "Xin go noi dung. Chuyen gi dang xay ra?"),
        ]
        for (inputs, step, prefix) in cases {
            let (state, outcome) = play(inputs)
            #expect(state.step == step, "\(inputs)")
            let text = screen(outcome)
            #expect(text.hasPrefix(prefix), "\(inputs): \(text)")
        }
    }

    @Test("4 switches to English and back")
    func english() throws {
        let (state, outcome) = play(["4"])
        #expect(state.language == .en && state.step == .root)
        #expect(screen(outcome).hasPrefix("Child protection"))
        #expect(screen(play(["4", "9"]).1).hasPrefix("Please choose a number from the list. Child protection"))
        #expect(play(["4", "4"]).0.language == .vi)
    }

    @Test("no destination codes (or none in places.csv): the list is empty, a number is a wrong choice, 7 still asks")
    func noDestinations() throws {
        let withoutPlaces = Gazetteer(areas: Fixtures.gazetteer.areas, places: [])
        let menus = [
            UssdMenu(gazetteer: Fixtures.gazetteer, catalogue: UssdFixtures.catalogue, destinationCodes: []),
            UssdMenu(gazetteer: Fixtures.gazetteer, catalogue: UssdFixtures.catalogue, destinationCodes: ["XX"]),
            UssdMenu(gazetteer: withoutPlaces, catalogue: UssdFixtures.catalogue),
        ]
        for menu in menus {
            #expect(menu.destinations.isEmpty)
            let (atDestination, outcome) = play(["1", "Lan", "14", "2", "lung c", "1"], using: menu)
            #expect(atDestination.step == .tipDestination)
            #expect(screen(outcome).hasPrefix("Tre di dau?\n\n7. Noi khac"))
            for input in ["1", "6", "0x", "-1", "-9223372036854775808", "9223372036854775807"] {
                let (state, again) = menu.advance(atDestination, input: input)
                #expect(state.step == .tipDestination, "\(input)")
                #expect(screen(again).hasPrefix("Xin chon mot so trong danh sach. Tre di dau?"), "\(input)")
            }
            let (other, _) = menu.advance(atDestination, input: "7")
            #expect(other.step == .tipDestinationText)
        }
    }

    @Test("a commune pick with no candidates (a state kept from before) is a wrong choice, not a crash")
    func noCandidates() throws {
        var state = UssdState()
        state.step = .tipCommunePick
        for input in ["1", "-9223372036854775808"] {
            let (after, outcome) = menu.advance(state, input: input)
            #expect(after.step == .tipCommunePick && after.areaCode == nil)
            #expect(screen(outcome).hasPrefix("Xin chon mot so trong danh sach. Chon xa:"))
        }
        state.candidates = ["715"]
        #expect(menu.advance(state, input: "2").0.areaCode == nil)
        #expect(menu.advance(state, input: "1").0.areaCode == "715")
    }

    @Test("every screen is GSM-7 and at most 182 septets, in both languages, with the longest values")
    func everyScreenFits() throws {
        let longest = Fixtures.gazetteer.areas.sorted { $0.shortName.count > $1.shortName.count }.prefix(5).map(\.code)
        for language in ParsedMessage.Language.allCases {
            for destination in [String(repeating: "x", count: 60), String(repeating: "{", count: 60), String(repeating: "€", count: 60)] {
                for step in UssdState.Step.allCases {
                    var state = UssdState()
                    state.language = language
                    state.step = step
                    state.candidates = longest
                    state.name = "Giang Thi Thanh Huong Mai"
                    state.age = 17
                    state.sex = .female
                    state.areaCode = longest.first
                    state.destinationText = destination
                    for hint in ["", "hint_choice", "hint_not_found", "hint_number", "hint_empty"].map({ $0.isEmpty ? "" : menu.catalogue.text($0, language) }) {
                        let text = menu.screen(state, hint: hint)
                        let septets = try #require(SMSText.gsm7Septets(text), "\(language) \(step): not GSM-7: \(text)")
                        #expect(septets <= UssdMenu.maxScreen, "\(language) \(step): \(septets) septets: \(text)")
                    }
                }
            }
        }
    }

    @Test("a typed destination of 60 `{` (two septets each) is cut to fit the confirm screen")
    func extensionCharactersCountTwo() throws {
        let longest = try #require(Fixtures.gazetteer.areas.max { $0.shortName.count < $1.shortName.count })
        var state = UssdState()
        state.step = .tipDestinationText
        state.history = [.root, .tipName, .tipAge, .tipSex, .tipCommuneType, .tipCommunePick, .tipDestination]
        state.name = "Lan"
        state.age = 14
        state.sex = .female
        state.areaCode = longest.code
        (state, _) = menu.advance(state, input: String(repeating: "{", count: 60))
        #expect(state.step == .tipWhen && state.destinationText == String(repeating: "{", count: 60) && state.destinationCode == nil)
        let (confirm, outcome) = menu.advance(state, input: "2")
        #expect(confirm.step == .tipConfirm)
        let text = screen(outcome)
        // Fewer than 182 characters, but more than 182 septets before the cut.
        let uncut = TextFolding.gsm7(menu.catalogue.text("tip_confirm", .vi, ["summary": menu.summary(confirm)]))
        let uncutSeptets = try #require(SMSText.gsm7Septets(uncut))
        #expect(uncut.count <= UssdMenu.maxScreen && uncutSeptets > UssdMenu.maxScreen, "the case this test is for: \(uncut)")
        let septets = try #require(SMSText.gsm7Septets(text))
        #expect(septets <= UssdMenu.maxScreen, "\(septets) septets: \(text)")
        #expect(text.hasPrefix("Gui bao cao?\ngai 14 tuoi, ") && text.contains("di {{{{") && text.hasSuffix(".."), "\(text)")
    }

    @Test("fit folds to GSM-7 and cuts at 182 septets with '..'")
    func fit() {
        #expect(UssdMenu.fit("Sài Gòn – Hà Nội") == "Sai Gon - Ha Noi")
        #expect(UssdMenu.fit(String(repeating: "a", count: 182)) == String(repeating: "a", count: 182))
        #expect(UssdMenu.fit(String(repeating: "a", count: 183)) == String(repeating: "a", count: 180) + "..")
        #expect(UssdMenu.fit(String(repeating: "{", count: 91)) == String(repeating: "{", count: 91))
        #expect(UssdMenu.fit(String(repeating: "{", count: 92)) == String(repeating: "{", count: 90) + "..")
        let mixed = UssdMenu.fit("a" + String(repeating: "[", count: 100))
        #expect(SMSText.gsm7Septets(mixed) == 181)
        #expect(mixed == "a" + String(repeating: "[", count: 89) + "..", "an extension character that would not fit whole is left out")
    }
}
