import Foundation
import Testing
@testable import TiplineCore

/// One line of a grammar case file: a message, when it arrived, and dotted paths into the parse's JSON.
struct GrammarCase: CustomTestStringConvertible, Sendable {
    let file: String
    let line: Int
    let text: String
    let receivedAt: Date
    let expect: [String: JSONValue]
    var testDescription: String { "\(file):\(line) \(text.debugDescription)" }
}

/// A JSON value as written in the case files.
enum JSONValue: Equatable, Sendable, CustomStringConvertible, Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): n == n.rounded() ? "\(Int(n))" : "\(n)"
        case .string(let s): s.debugDescription
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): "{" + o.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    func at(path: String) -> JSONValue {
        var value = self
        for key in path.split(separator: ".") {
            guard case .object(let object) = value, let next = object[String(key)] else { return .null }
            value = next
        }
        return value
    }
}

enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let gazetteer: Gazetteer = {
        let areas = try! ReferenceData.areas(csv: String(contentsOf: packageRoot.appendingPathComponent("config/areas.csv"), encoding: .utf8))
        let places = try! ReferenceData.places(csv: String(contentsOf: packageRoot.appendingPathComponent("config/places.csv"), encoding: .utf8))
        return Gazetteer(areas: areas, places: places)
    }()

    static let parser = ReportParser(gazetteer: gazetteer, timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!)

    static func cases(_ paths: [URL]) -> [GrammarCase] {
        let formatter = ISO8601DateFormatter()
        var cases: [GrammarCase] = []
        for url in paths {
            guard let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty, !trimmed.hasPrefix("//") else { continue }
                struct Line: Decodable { let text: String; let received_at: String?; let expect: [String: JSONValue] }
                let object = try! JSONDecoder().decode(Line.self, from: Data(trimmed.utf8))
                cases.append(GrammarCase(
                    file: url.lastPathComponent, line: number + 1, text: object.text,
                    receivedAt: formatter.date(from: object.received_at ?? "2026-11-28T09:00:00+07:00")!,
                    expect: object.expect
                ))
            }
        }
        return cases
    }

    /// The shared corpus (its copy in the project, and the live one beside the repository when present) and our own cases.
    static let corpus: [GrammarCase] = {
        let own = packageRoot.appendingPathComponent("Tests/TiplineCoreTests/Cases")
        let files = (try? FileManager.default.contentsOfDirectory(at: own, includingPropertiesForKeys: nil)) ?? []
        var paths = files.filter { $0.pathExtension == "jsonl" }.sorted { $0.path < $1.path }
        let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus/reports.jsonl")
        if FileManager.default.fileExists(atPath: shared.path) { paths.append(shared) }
        return cases(paths)
    }()
}

@Suite("Grammar corpus")
struct GrammarCorpusTests {
    @Test("corpus case", arguments: Fixtures.corpus)
    func corpusCase(_ testCase: GrammarCase) throws {
        let parsed = Fixtures.parser.parse(testCase.text, receivedAt: testCase.receivedAt)
        let json = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(parsed))
        for (path, expected) in testCase.expect.sorted(by: { $0.key < $1.key }) {
            let actual = json.at(path: path)
            #expect(actual == expected, "\(path): expected \(expected), got \(actual) — whole parse: \(json)")
        }
    }

    @Test func corpusIsNotEmpty() {
        #expect(Fixtures.corpus.count >= 46)
    }
}

@Suite("ParsedMessage JSON")
struct ParsedMessageJSONTests {
    @Test("the fast writer gives the same object as JSONEncoder, for every corpus case")
    func sameAsJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for testCase in Fixtures.corpus {
            var parsed = Fixtures.parser.parse(testCase.text, receivedAt: testCase.receivedAt)
            parsed.note = (parsed.note ?? "") + " \"quoted\" \\ back\nline\u{1}"
            let fast = try JSONDecoder().decode(JSONValue.self, from: Data(parsed.jsonString.utf8))
            let reference = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(parsed))
            #expect(fast == reference, "\(testCase.text)")
            #expect(try JSONDecoder().decode(ParsedMessage.self, from: Data(parsed.jsonString.utf8)) == parsed)
        }
    }
}
