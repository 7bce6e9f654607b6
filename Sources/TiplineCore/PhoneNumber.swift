/// Phone numbers in E.164, with Vietnam's national forms understood.
///
/// Accepts `0912 345 678`, `0912.345.678`, `+84 912…`, `84912…`, `0084…` and the legacy 11-digit `01xx` mobile
/// prefixes renumbered in 2018 (`0162…` → `032…`).
public struct PhoneNumber: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The number in E.164 form, `+84912345678`.
    public let e164: String

    public init?(_ raw: String) {
        guard let normalised = PhoneNumber.normalise(raw) else { return nil }
        e164 = normalised
    }

    public init(trustedE164: String) { e164 = trustedE164 }

    public var description: String { e164 }

    /// Whether this is a Vietnamese mobile number (what a companion's or reporter's phone should be).
    public var isVietnameseMobile: Bool {
        guard e164.hasPrefix("+84"), e164.count == 12 else { return false }
        return "35789".contains(e164[e164.index(e164.startIndex, offsetBy: 3)])
    }

    /// Masked for logs and for roles that may not see numbers: `+8491****678`.
    public var masked: String { PhoneNumber.mask(e164) }

    public static func mask(_ number: String) -> String {
        let chars = Array(number)
        guard chars.count > 7 else { return String(repeating: "*", count: chars.count) }
        return String(chars.prefix(5)) + String(repeating: "*", count: chars.count - 8) + String(chars.suffix(3))
    }

    /// 2018 renumbering of 11-digit mobile numbers: old prefix (after the leading 0) → new prefix.
    static let legacyPrefixes: [String: String] = [
        "162": "32", "163": "33", "164": "34", "165": "35", "166": "36", "167": "37", "168": "38", "169": "39",
        "120": "70", "121": "79", "122": "77", "126": "76", "128": "78",
        "123": "83", "124": "84", "125": "85", "127": "81", "129": "82",
        "186": "56", "188": "58", "199": "59",
    ]

    /// Normalises to E.164, or nil when it is not a phone number.
    public static func normalise(_ raw: String) -> String? {
        var digits = ""
        var plus = false
        for (index, c) in raw.enumerated() {
            if c.isASCII, c.isNumber {
                digits.append(c)
            } else if c == "+", index == 0 || digits.isEmpty {
                plus = true
            } else if c == " " || c == "." || c == "-" || c == "(" || c == ")" {
                continue
            } else {
                return nil
            }
        }
        if !plus, digits.hasPrefix("00") {
            digits.removeFirst(2)
            plus = true
        }
        let national: String
        if plus || (digits.hasPrefix("84") && (digits.count == 11 || digits.count == 12)) {
            if digits.hasPrefix("84") {
                national = String(digits.dropFirst(2))
            } else {
                // Another country: keep it if it has a plausible E.164 length.
                guard plus, (8...15).contains(digits.count), !digits.hasPrefix("0") else { return nil }
                return "+" + digits
            }
        } else if digits.hasPrefix("0") {
            national = String(digits.dropFirst())
        } else {
            return nil
        }
        return vietnamese(national: national)
    }

    /// `national` without the trunk 0: nine digits for current numbers, ten for legacy `1xx` mobiles.
    static func vietnamese(national: String) -> String? {
        if national.count == 10, national.hasPrefix("1") {
            guard let new = legacyPrefixes[String(national.prefix(3))] else { return nil }
            return "+84" + new + national.dropFirst(3)
        }
        if national.count == 10, national.hasPrefix("2") { return "+84" + national } // landline, area code 2xx
        guard national.count == 9, let first = national.first, "235789".contains(first) else { return nil }
        return "+84" + national
    }
}
