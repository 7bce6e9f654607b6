import Testing
@testable import TiplineCore

@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test("Vietnamese national and international forms normalise to E.164", arguments: [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("(091) 234-5678", "+84912345678"),
        ("01623456789", "+84323456789"),   // Viettel 0162 → 032
        ("01203456789", "+84703456789"),   // Mobifone 0120 → 070
        ("01233456789", "+84833456789"),   // Vinaphone 0123 → 083
        ("01863456789", "+84563456789"),   // Vietnamobile 0186 → 056
        ("841623456789", "+84323456789"),
        ("+14158675309", "+14158675309"),  // another country stays as it is
    ])
    func normalises(_ raw: String, _ expected: String) {
        #expect(PhoneNumber.normalise(raw) == expected)
    }

    @Test("Not phone numbers", arguments: ["", "14", "12/11", "abc", "091234567", "0112345678", "+84", "0412345678"])
    func rejects(_ raw: String) {
        #expect(PhoneNumber.normalise(raw) == nil)
    }

    @Test func masking() {
        #expect(PhoneNumber.mask("+84912345678") == "+8491****678")
        #expect(PhoneNumber(trustedE164: "+84912345678").isVietnameseMobile)
        #expect(!PhoneNumber(trustedE164: "+842439999999").isVietnameseMobile)
    }
}

@Suite("SMS text rules")
struct SMSTextTests {
    @Test func gsm7SingleSegment() {
        let text = SMSText(String(repeating: "a", count: 160))
        #expect(text.encoding == .gsm7)
        #expect(text.segments == 1)
    }

    @Test func gsm7Concatenated() {
        #expect(SMSText(String(repeating: "a", count: 161)).segments == 2)
        #expect(SMSText(String(repeating: "a", count: 306)).segments == 2)
        #expect(SMSText(String(repeating: "a", count: 307)).segments == 3)
    }

    @Test("extension characters count two") func extensionCharacters() {
        #expect(SMSText.gsm7Septets("{}[]€") == 10)
        #expect(SMSText(String(repeating: "€", count: 80)).segments == 1)
        #expect(SMSText(String(repeating: "€", count: 81)).segments == 2)
    }

    @Test("one diacritic makes the message UCS-2: 70 characters, then 67") func ucs2() {
        let one = SMSText("Tre Lan 14t nữ")
        #expect(one.encoding == .ucs2)
        #expect(SMSText(String(repeating: "ữ", count: 70)).segments == 1)
        #expect(SMSText(String(repeating: "ữ", count: 71)).segments == 2)
        #expect(SMSText(String(repeating: "ữ", count: 134)).segments == 2)
        #expect(SMSText(String(repeating: "ữ", count: 135)).segments == 3)
    }

    @Test func truncation() {
        let long = String(repeating: "x", count: 200)
        let cut = SMSText.truncated(long)
        #expect(cut.count == 160)
        #expect(cut.hasSuffix("..."))
    }
}

@Suite("Text folding")
struct TextFoldingTests {
    @Test func foldsDiacriticsCaseAndD() {
        #expect(TextFolding.fold("Giàng Thị Mai, đi Trung Quốc") == "GIANG THI MAI, DI TRUNG QUOC")
        #expect(TextFolding.fold("Đồng Văn") == "DONG VAN")
    }

    @Test("decomposed input folds like composed") func decomposed() {
        let decomposed = "Lu\u{0303}ng Cu\u{0301}" // "Lũng Cú" typed with combining marks
        #expect(TextFolding.fold(decomposed) == "LUNG CU")
        #expect(TextFolding.clean(decomposed) == "Lũng Cú")
    }

    @Test func zeroWidthRemoved() {
        #expect(TextFolding.clean("TRE\u{200B} Lan\u{FEFF}") == "TRE Lan")
    }

    @Test("place keys ignore case, diacritics, spaces and hyphens") func matchKeys() {
        #expect(TextFolding.matchKey("Sai gon") == TextFolding.matchKey("Saigon"))
        #expect(TextFolding.matchKey("Sài Gòn") == "SAIGON")
        #expect(TextFolding.matchKey("Ma-lai-xi-a") == "MALAIXIA")
    }

    @Test func titleCase() {
        #expect(TextFolding.titleCased("sung a pao") == "Sung A Pao")
        #expect(TextFolding.titleCased("LY THI MO") == "Ly Thi Mo")
        #expect(TextFolding.titleCased("McLan") == "McLan")
    }
}

@Suite("GSM-7 text")
struct GSM7Tests {
    @Test("typographic punctuation made plain, anything else outside GSM-7 replaced")
    func sanitise() {
        #expect(TextFolding.gsm7("Xã Chân Mây – Lăng Cô") == "Xa Chan May - Lang Co")
        #expect(TextFolding.gsm7("“Lan” … ✓") == "\"Lan\" ... ?")
        #expect(SMSText.gsm7Septets(TextFolding.gsm7("Trẻ em 中国")) != nil)
    }
}

@Suite("GSM-7 fast paths")
struct GSM7FastPathTests {
    @Test("ASCII counting agrees with the character-by-character count", arguments: [
        "Da nhan bao cao so 1001. Cam on ban.", "a{b}c[d]e~f|g^h\\\\i", "line\nbreak\r", "tab\there", "back`tick", "",
    ])
    func asciiAgrees(_ text: String) {
        var slow = 0
        var valid = true
        for character in text {
            if SMSText.basic.contains(character) { slow += 1 } else if SMSText.extended.contains(character) { slow += 2 } else { valid = false }
        }
        #expect(SMSText.gsm7Septets(text) == (valid ? slow : nil))
        #expect(SMSText.gsm7Septets(TextFolding.gsm7(text)) != nil || text.contains("\t"))
    }
}
