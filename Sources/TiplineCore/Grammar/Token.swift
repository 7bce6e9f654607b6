import Foundation

/// One word of a message: as typed (NFC) and folded, with what separated it from the previous word.
struct Token: Sendable, Equatable {
    var original: String
    var folded: String
    /// A hard separator (`,` `;` `#` newline `:` `=` or a removed phone number) stands before it.
    var boundaryBefore: Bool
    /// `:` or `=` follows it (a tag in `TEN: Lan`).
    var tagMarkAfter: Bool
    /// A sentence ends before it (`.` `!` `:` or a new line): a keyword may start there.
    var sentenceBefore = false
    /// Character offset in the cleaned text where the word starts.
    var start: Int

    /// The place-matching key (`TextFolding.matchKey`), computed once.
    var key: String

    init(original: String, folded: String, boundaryBefore: Bool, tagMarkAfter: Bool, start: Int) {
        self.original = original
        self.folded = folded
        self.boundaryBefore = boundaryBefore
        self.tagMarkAfter = tagMarkAfter
        self.start = start
        self.key = TextFolding.matchKey(folded)
    }

    /// This word cut in two at a character offset (a word typed without its space: `14tnu`, `xaLungCu`).
    func split(at cut: Int) -> [Token] {
        let originalCharacters = Array(original), foldedCharacters = Array(folded)
        let source = originalCharacters.count == foldedCharacters.count ? originalCharacters : foldedCharacters
        var first = Token(original: String(source[..<cut]), folded: String(foldedCharacters[..<cut]), boundaryBefore: boundaryBefore,
                          tagMarkAfter: false, start: start)
        first.sentenceBefore = sentenceBefore
        let second = Token(original: String(source[cut...]), folded: String(foldedCharacters[cut...]), boundaryBefore: false,
                           tagMarkAfter: tagMarkAfter, start: start + cut)
        return [first, second]
    }

    var isNumber: Bool { !folded.isEmpty && folded.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
}

/// Splits a cleaned message into tokens, pulling out phone numbers first.
struct Tokenizer {
    let characters: [Character]
    /// The phone numbers found, in order, as E.164.
    private(set) var phones: [String] = []
    /// Characters with phone numbers blanked to a hard separator.
    private var scan: [Character]

    init(_ cleaned: String) {
        characters = Array(cleaned)
        scan = characters
        extractPhones()
    }

    static let sentenceEnds: Set<Character> = [".", "!", ":", "\n", "\r"]
    static let hardSeparators: Set<Character> = [",", ";", "#", "\n", "\r", ":", "=", "!", "(", ")", "\"", "|", "\u{1}"]

    /// The words of the message, phone numbers left out.
    func tokens() -> [Token] {
        var tokens: [Token] = []
        var current = ""
        var start = 0
        var boundary = false
        var sentence = false
        func flush() {
            guard !current.isEmpty else { return }
            var token = Token(original: current, folded: TextFolding.fold(current), boundaryBefore: boundary,
                              tagMarkAfter: false, start: start)
            token.sentenceBefore = sentence
            tokens.append(token)
            current = ""
            boundary = false
            sentence = false
        }
        for (index, c) in scan.enumerated() {
            let isDotInNumber = c == "." && index > 0 && index + 1 < scan.count
                && scan[index - 1].isNumber && scan[index + 1].isNumber
            if Tokenizer.sentenceEnds.contains(c), !(c == "." && isDotInNumber) {
                flush()
                sentence = true
            }
            if Tokenizer.hardSeparators.contains(c) || (c == "-" && current.isEmpty) {
                flush()
                if (c == ":" || c == "="), let last = tokens.indices.last { tokens[last].tagMarkAfter = true }
                boundary = true
            } else if c.isWhitespace || (c == "." && !isDotInNumber) {
                flush()
            } else {
                if current.isEmpty { start = index }
                current.append(c)
            }
        }
        flush()
        return tokens
    }

    /// What is trimmed from both ends of a command's text: white space and separators.
    static var noteTrimmed: CharacterSet { CharacterSet(charactersIn: ",;:#.").union(.whitespacesAndNewlines) }

    /// The original text from a character offset to the end, trimmed.
    func text(from offset: Int) -> String? {
        guard offset < characters.count else { return nil }
        let text = String(characters[offset...]).trimmingCharacters(in: Tokenizer.noteTrimmed)
        return text.isEmpty ? nil : text
    }

    /// Finds digit groups joined by single spaces, dots or hyphens, and takes the longest stretch that is a phone number.
    private mutating func extractPhones() {
        var index = 0
        let n = characters.count
        while index < n {
            guard characters[index].isASCII, characters[index].isNumber || (characters[index] == "+" && index + 1 < n && characters[index + 1].isNumber) else {
                index += 1
                continue
            }
            // Collect groups: [start, end) offsets of each digit run.
            var groups: [(Int, Int)] = []
            var cursor = index
            while cursor < n {
                let groupStart = cursor
                if characters[cursor] == "+" { cursor += 1 }
                while cursor < n, characters[cursor].isASCII, characters[cursor].isNumber { cursor += 1 }
                groups.append((groupStart, cursor))
                if cursor + 1 < n, [" ", ".", "-"].contains(characters[cursor]), characters[cursor + 1].isASCII, characters[cursor + 1].isNumber {
                    cursor += 1
                } else {
                    break
                }
            }
            // The longest stretch of groups that normalises to a phone number.
            var best: (Int, Int, String)?
            for first in groups.indices {
                for last in (first..<groups.count).reversed() {
                    let start = groups[first].0, end = groups[last].1
                    let digitCount = characters[start..<end].filter(\.isNumber).count
                    guard digitCount >= 9 else { continue }
                    if let phone = PhoneNumber.normalise(String(characters[start..<end])),
                       end - start > best.map({ $0.1 - $0.0 }) ?? 0 {
                        best = (start, end, phone)
                    }
                }
            }
            if let (start, end, phone) = best {
                phones.append(phone)
                for offset in start..<end { scan[offset] = " " }
                scan[start] = "\u{1}"
            }
            index = (groups.last?.1 ?? index) + 1
        }
    }
}
