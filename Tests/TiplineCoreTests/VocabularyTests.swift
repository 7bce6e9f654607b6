import Foundation
import Testing
@testable import TiplineCore

/// The grammar's word lists are data: changing the vocabulary changes what is read, with no code change.
@Suite("Vocabulary")
struct VocabularyTests {
    let received = ISO8601DateFormatter().date(from: "2026-11-28T09:00:00+07:00")!
    let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh")!

    func parse(_ text: String, _ vocabulary: Vocabulary = .standard) -> ParsedMessage {
        ReportParser(gazetteer: Fixtures.gazetteer, vocabulary: vocabulary, timeZone: zone).parse(text, receivedAt: received)
    }

    @Test("every built-in word is folded: upper-case ASCII, words joined by one space")
    func builtInWordsAreFolded() {
        let v = Vocabulary.standard
        let sets: [Set<String>] = [
            v.ageUnits, v.ageWords, v.female, v.male, v.maleAfterAge, v.notAgeAfterNumber, v.villageMarkers, v.notVillageAfter,
            v.communeMarkers, v.communeTypeMarkers, v.districtMarkers, v.destinationMarkers, v.destinationVerbs,
            v.destinationParticles, v.destinationFillers, v.companionMarkers, v.childNouns, v.nameStops, v.dateMarkers,
        ]
        var words: [String] = sets.flatMap { $0 }
        words += v.urgentPhrases
        words += v.keywords.keys
        words += v.tags.keys
        words += v.relativeDays.keys
        words += v.agoUnits.keys
        words += v.outcomes.keys
        for word in words {
            #expect(word == TextFolding.fold(word).split(separator: " ").joined(separator: " ") && !word.isEmpty, "\(word)")
        }
        #expect(v.communeTypeMarkers.isSubset(of: v.communeMarkers))
        #expect(v.destinationVerbs.isSubset(of: v.destinationMarkers))
    }

    @Test("a relative day added to the vocabulary is read as a date")
    func addedRelativeDay() {
        let text = "TRE Lan 14t nu xa Lung Cu di HCM bua qua"
        #expect(parse(text).leftOn == nil)
        var vocabulary = Vocabulary.standard
        vocabulary.relativeDays["BUA QUA"] = 1
        let parsed = parse(text, vocabulary)
        #expect(parsed.leftOn == "2026-11-27")
        #expect(parsed.note == nil, "both words used: \(parsed.note ?? "")")
    }

    @Test("a unit added to the 'ago' words counts back from the day received")
    func addedAgoUnit() {
        let text = "TRE Lan 14t nu xa Lung Cu di HCM 3 thang truoc"
        let standard = parse(text)
        #expect(standard.leftOn == nil && standard.child.age == 14, "3 thang is a span of time, not an age")
        var vocabulary = Vocabulary.standard
        vocabulary.agoUnits["THANG TRUOC"] = 30
        let parsed = parse(text, vocabulary)
        #expect(parsed.leftOn == "2026-08-30" && parsed.child.age == 14)
    }

    @Test("the built-in relative dates and 'ago' phrases")
    func relativeDates() {
        let cases = [
            ("hom nay", "2026-11-28"), ("homqua", "2026-11-27"), ("hom kia", "2026-11-26"), ("tuan truoc", "2026-11-21"),
            ("yesterday", "2026-11-27"), ("last week", "2026-11-21"), ("2 ngay truoc", "2026-11-26"), ("2 tuan truoc", "2026-11-14"),
            ("3 days ago", "2026-11-25"), ("1 week ago", "2026-11-21"), ("ngay 20/11", "2026-11-20"),
        ]
        for (phrase, expected) in cases {
            #expect(parse("TRE Lan 14t nu xa Lung Cu di HCM " + phrase).leftOn == expected, "\(phrase)")
        }
    }

    @Test("a number before a not-age word is no age; without the word, it is")
    func notAgeAfterNumber() {
        let text = "TRE Lan xa Lung Cu di HCM 3 gio"
        #expect(parse(text).child.age == nil, "3 gio: three hours")
        var vocabulary = Vocabulary.standard
        vocabulary.notAgeAfterNumber.remove("GIO")
        #expect(parse(text, vocabulary).child.age == 3)
    }

    @Test("a destination verb counts only with its particle")
    func destinationVerbs() {
        #expect(parse("TIP boy 15 from Meo Vac went to China").destination.code == "CN")
        #expect(parse("TIP boy 15 from Meo Vac went into China").destination.code == nil)
        var vocabulary = Vocabulary.standard
        vocabulary.destinationParticles = ["INTO"]
        #expect(parse("TIP boy 15 from Meo Vac went into China", vocabulary).destination.code == "CN")
    }
}
