import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct ChannelLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel-log",
        abstract: "Show recent provider calls and webhooks (no message text, numbers masked)."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "Only this channel.")
    var channel: String?

    @Option(help: "How far back: 30m, 24h, 7d.")
    var since: String = "24h"

    @Option(help: "At most this many entries, newest first.")
    var limit: Int = 50

    @Flag(help: "One JSON object a line.")
    var json = false

    func run() async throws {
        let deployment = try options.loadDeployment()
        let start: Date
        do {
            start = try ReportLog.since(since)
        } catch {
            throw ValidationError("\(error)")
        }
        let database = try await deployment.settings.openDatabase()
        let entries = try await database.channelLog(channel: channel, since: start, limit: limit)
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = deployment.settings.timeZone
        if json {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = .sortedKeys
            for entry in entries { print(String(decoding: try encoder.encode(entry), as: UTF8.self)) }
            return
        }
        print("time".padding(toLength: 26, withPad: " ", startingAt: 0) + "channel".padding(toLength: 16, withPad: " ", startingAt: 0)
              + "dir  kind    status  ms       error")
        for entry in entries {
            let status = entry.status.map(String.init) ?? "-"
            let ms = entry.latencyMS.map { String(format: "%.1f", $0) } ?? "-"
            print(formatter.string(from: entry.at).padding(toLength: 26, withPad: " ", startingAt: 0)
                  + entry.channel.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + entry.direction.padding(toLength: 5, withPad: " ", startingAt: 0)
                  + entry.kind.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + status.padding(toLength: 8, withPad: " ", startingAt: 0)
                  + ms.padding(toLength: 9, withPad: " ", startingAt: 0) + (entry.error ?? ""))
        }
    }
}
