import ArgumentParser
import Foundation
import TiplineCore
import TiplineServer

struct Parse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how the keyword grammar reads a message.",
        discussion: "Example: tipline parse --json \"TRE Lan 14t nu xa Lung Cu di HCM\""
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "When the message was received (ISO 8601, e.g. 2026-11-28T09:00:00+07:00); default now.")
    var at: String?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Argument(help: "The message text.")
    var text: String

    func run() async throws {
        let deployment = try options.loadDeployment()
        var received = Date()
        if let at {
            guard let date = ISO8601DateFormatter().date(from: at) else {
                throw ValidationError("--at must be an ISO 8601 time such as 2026-11-28T09:00:00+07:00, not '\(at)'")
            }
            received = date
        }
        let parsed = deployment.parser.parse(text, receivedAt: received)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(parsed), as: UTF8.self))
            return
        }
        var lines: [(String, String?)] = [
            ("kind", parsed.kind.rawValue), ("command", parsed.command?.rawValue), ("number", parsed.number.map(String.init)),
            ("urgent", parsed.urgent ? "yes" : "no"), ("language", parsed.language.rawValue),
        ]
        if parsed.kind != .command {
            lines += [
                ("child.name", parsed.child.name), ("child.age", parsed.child.age.map(String.init)), ("child.sex", parsed.child.sex?.rawValue),
                ("origin.area", parsed.origin.areaCode.map { "\($0) \(parsed.origin.areaName ?? "")" }),
                ("origin.village", parsed.origin.village),
                ("origin.candidates", parsed.origin.candidates.isEmpty ? nil : parsed.origin.candidates.joined(separator: ", ")),
                ("origin.text", parsed.origin.text),
                ("destination", parsed.destination.code.map { "\($0) \(parsed.destination.name ?? "")" } ?? parsed.destination.text),
                ("left_on", parsed.leftOn), ("companion.name", parsed.companion.name), ("companion.phone", parsed.companion.phone),
                ("missing", parsed.missing.isEmpty ? nil : parsed.missing.joined(separator: ", ")),
                ("flags", parsed.flags.isEmpty ? nil : parsed.flags.joined(separator: ", ")),
            ]
        }
        lines.append(("outcome", parsed.outcome?.rawValue))
        lines.append(("note", parsed.note))
        for (name, value) in lines where value != nil {
            print(name.padding(toLength: 18, withPad: " ", startingAt: 0) + value!)
        }
    }
}
