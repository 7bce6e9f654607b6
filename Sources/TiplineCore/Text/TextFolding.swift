import Foundation

/// Text preparation shared by the grammar, place matching and outbound SMS.
///
/// Vietnamese reporters type with or without diacritics, composed or decomposed; matching happens on a *folded* view
/// (no combining marks, `đ` → `d`, upper case) while values keep the original spelling.
public enum TextFolding {
    /// Zero-width characters some phones and keyboards insert (U+200B–U+200D, U+FEFF).
    static let zeroWidth: Set<Unicode.Scalar> = ["\u{200B}", "\u{200C}", "\u{200D}", "\u{FEFF}"]

    /// Removes zero-width characters and returns the NFC form.
    public static func clean(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.lazy.filter { !zeroWidth.contains($0) })
        return String(scalars).precomposedStringWithCanonicalMapping
    }

    /// The ASCII-leaning matching view: combining marks removed, `đ Đ ð Ð` mapped to `D`, upper-cased.
    public static func fold(_ text: String) -> String {
        // Most messages are typed without diacritics: plain ASCII needs no Unicode work.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
        }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                let value = UInt8(scalar.value)
                out.append(Unicode.Scalar(value >= 0x61 && value <= 0x7A ? value - 0x20 : value))
            } else if let folded = foldTable[scalar] {
                out.append(contentsOf: folded.unicodeScalars)
            } else {
                out.append(contentsOf: foldSlow(String(scalar)).unicodeScalars)
            }
        }
        return String(out)
    }

    /// Latin letters with diacritics (Latin-1 to Latin Extended Additional, where Vietnamese lives), folded once.
    static let foldTable: [Unicode.Scalar: String] = {
        var table: [Unicode.Scalar: String] = [:]
        for range in [0x00C0...0x024F, 0x0300...0x036F, 0x1E00...0x1EFF] {
            for value in range {
                guard let scalar = Unicode.Scalar(value) else { continue }
                table[scalar] = foldSlow(String(scalar))
            }
        }
        return table
    }()

    static func foldSlow(_ text: String) -> String {
        String(String.UnicodeScalarView(withoutMarks(text))).uppercased()
    }

    /// The scalars of `text`, decomposed, without combining marks or zero-width characters, `đ Đ ð Ð` as `d`/`D`.
    static func withoutMarks(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
            if zeroWidth.contains(scalar) { continue }
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: break
            }
            switch scalar {
            case "đ", "ð": out.append("d")
            case "Đ", "Ð": out.append("D")
            default: out.append(scalar)
            }
        }
        return out
    }

    /// The folded view with spaces, hyphens and dots removed: the key place names are matched on
    /// ("Sai gon" = "Saigon" = "Sài Gòn").
    public static func matchKey(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in fold(text).unicodeScalars where (scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)))
            || (!scalar.isASCII && scalar.properties.isAlphabetic) {
            out.append(scalar)
        }
        return String(out)
    }

    /// Folds to plain ASCII for an SMS that must stay GSM-7: diacritics removed, case kept.
    public static func asciiFold(_ text: String) -> String {
        String(String.UnicodeScalarView(withoutMarks(text)))
    }

    /// Text safe for one GSM-7 SMS or USSD screen: diacritics removed, typographic punctuation made plain
    /// (– — ‘ ’ “ ” …), and anything else outside the GSM 03.38 alphabet replaced by `?`.
    public static func gsm7(_ text: String) -> String {
        // Plain ASCII (most texts): every printable character is in GSM-7 but the backtick.
        if text.utf8.allSatisfy({ ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x0D }) {
            return text.utf8.contains(UInt8(ascii: "`")) ? text.replacingOccurrences(of: "`", with: "'") : text
        }
        let plain: [Character: String] = ["–": "-", "—": "-", "‘": "'", "’": "'", "“": "\"", "”": "\"", "…": "...", "\u{00A0}": " ", "•": "-"]
        var out = ""
        for character in asciiFold(text) {
            if let replacement = plain[character] {
                out += replacement
            } else if SMSText.basic.contains(character) || SMSText.extended.contains(character) {
                out.append(character)
            } else {
                out.append("?")
            }
        }
        return out
    }

    /// Capitalises each word of a name typed in one case ("sung a pao" → "Sung A Pao"); mixed case is kept as typed.
    public static func titleCased(_ text: String) -> String {
        text.split(separator: " ").map { word -> String in
            let w = String(word)
            guard w == w.lowercased() || w == w.uppercased() else { return w }
            return w.prefix(1).uppercased() + w.dropFirst().lowercased()
        }.joined(separator: " ")
    }
}
