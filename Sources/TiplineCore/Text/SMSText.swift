/// How an SMS will travel: its encoding and how many segments (each billed) it takes.
public struct SMSText: Sendable, Equatable {
    public enum Encoding: String, Sendable, Codable {
        case gsm7 = "GSM-7"
        case ucs2 = "UCS-2"
    }

    public let encoding: Encoding
    /// Septets for GSM-7 (extension characters count two), UTF-16 code units for UCS-2.
    public let units: Int
    public let segments: Int

    public init(_ text: String) {
        if let septets = SMSText.gsm7Septets(text) {
            encoding = .gsm7
            units = septets
            segments = septets <= 160 ? 1 : (septets + 152) / 153
        } else {
            encoding = .ucs2
            units = text.utf16.count
            segments = units <= 70 ? 1 : (units + 66) / 67
        }
    }

    /// Whether the text fits one GSM-7 segment (160 septets).
    public var isSingleGSM7Segment: Bool { encoding == .gsm7 && segments == 1 }

    /// The GSM 03.38 default alphabet.
    static let basic: Set<Character> = Set(
        "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
    )
    /// The GSM 03.38 extension table: each takes an escape septet and so counts two.
    static let extended: Set<Character> = Set("^{}\\[~]|€\u{000C}")

    /// Septet count when the whole text is GSM-7, nil when one character forces UCS-2.
    /// A message as a provider delivered it, made safe to store whole: a NUL — how some gateways deliver GSM-7's `@`
    /// (code 0x00) — becomes `@`, and other control characters but tab and line breaks become spaces. Without this,
    /// everything after a NUL would be lost on the way into the database.
    public static func cleanInbound(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 < 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { scalar -> Unicode.Scalar in
            switch scalar.value {
            case 0x00: "@"
            case 0x09, 0x0A, 0x0D: scalar
            case ..<0x20: " "
            default: scalar
            }
        }))
    }

    public static func gsm7Septets(_ text: String) -> Int? {
        var count = 0
        // Plain ASCII: one septet each, two for the extension characters, none for the backtick or controls.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            for byte in text.utf8 {
                switch byte {
                case 0x0A, 0x0D: count += 1
                case 0x60: return nil
                case 0x20..<0x7F: count += [0x5E, 0x7B, 0x7D, 0x5C, 0x5B, 0x7E, 0x5D, 0x7C].contains(byte) ? 2 : 1
                default: return nil
                }
            }
            return count
        }
        for character in text {
            if basic.contains(character) {
                count += 1
            } else if extended.contains(character) {
                count += 2
            } else {
                return nil
            }
        }
        return count
    }

    /// Cuts GSM-7 text to at most `limit` septets, ending with `ellipsis` when cut (an extension character counts two).
    public static func truncated(_ text: String, toSeptets limit: Int = 160, ellipsis: String = "...") -> String {
        guard let septets = gsm7Septets(text), septets > limit else { return text }
        let room = limit - (gsm7Septets(ellipsis) ?? ellipsis.count)
        var out = ""
        var count = 0
        for character in text {
            let cost = extended.contains(character) || character == "\r\n" ? 2 : 1
            if count + cost > room { break }
            out.append(character)
            count += cost
        }
        return out + ellipsis
    }
}
