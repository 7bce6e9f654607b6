import ArgumentParser
import Foundation
import TiplineCore
import TiplineServer
import TiplineStore

/// Fills the configured database with fictional reports for scale tests, as the intake would have left them.
///
/// About 3,000 texts are written from villagers' templates (every commune of the areas file, destinations from the
/// places file) and read once by the deployment's parser; each report takes one, with its inbound message, two or
/// three timeline events, and its acknowledgement and alert already sent. The store writes 2,000 reports a
/// transaction (``AppDatabase/seed(_:)``), sealed with the deployment's keys, while the next batch is built.
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the database with fictional reports, for scale tests.",
        discussion: """
            Reports are spread over the last --days days, their numbers continuing after the highest one: run it again \
            to grow a database (stop the daemon first). Reports older than 30 days are mostly closed; none is left for \
            the escalation timers, and no reply or alert is left to send. The daemon's first retention pass erases what \
            is past retention.closed_case_days (365 by default) and unclosed_case_days. Into a database of the same size, \
            the same --random-seed writes the same reports, times aside. Example: tipline seed --reports 100000
            """
    )
    @OptionGroup var options: CommonOptions
    @Option(help: "How many reports to add.") var reports = 0
    @Option(help: "How many replies to queue, due now, to fictional numbers: a backlog for measuring the outbox dispatcher.")
    var queued = 0
    @Option(help: "Spread them over the last this many days.") var days = 730
    @Option(help: "The generator's seed.") var randomSeed: UInt64 = 1

    func validate() throws {
        guard reports > 0 || queued > 0 else { throw ValidationError("give --reports N, --queued N or both") }
        guard reports >= 0, queued >= 0 else { throw ValidationError("--reports and --queued count up from 0") }
        guard days > 0 else { throw ValidationError("--days: give at least 1") }
    }

    func run() async throws {
        let deployment = try options.loadDeployment()
        if let refusal = deployment.settings.seedingRefusal { throw ValidationError(refusal) }
        let database = try await deployment.settings.openDatabase()
        let now = Date()
        if queued > 0 {
            let channel = deployment.settings.outboundChannel
            for start in stride(from: 0, to: queued, by: 2_000) {
                let messages = (start..<min(start + 2_000, queued)).map { index in
                    OutboundMessage(channel: channel, recipient: "+8497\(String(format: "%07d", index % 10_000_000))",
                                    body: "TIPLINE: da nhan tin bao #\(1001 + index). Cam on ban. Khong can tra loi.", purpose: .reply,
                                    reportNumber: nil, at: now)
                }
                try await database.seedQueued(messages)
            }
            print("queued \(Self.grouped(queued)) replies on channel \(channel)")
        }
        guard reports > 0 else { return }
        let texts = try SeedTexts(deployment: deployment, seed: randomSeed, now: now)
        if !texts.unread.isEmpty {
            let names = texts.unread.joined(separator: ", ")
            FileHandle.standardError.write(Data("tipline: no seeded text was read as these communes, which get no report: \(names)\n".utf8))
        }
        let first = try await database.highestReportNumber() + 1
        let plan = SeedPlan(texts: texts, cipher: database.cipher, channel: deployment.settings.outboundChannel, first: first,
                            count: reports, seed: randomSeed, start: now.addingTimeInterval(-Double(days) * 86_400), now: now)
        let started = Date()
        var next = Task.detached { try plan.batch(0) }
        var written = 0
        for index in 0..<plan.batches {
            let batch = try await next.value
            if index + 1 < plan.batches { next = Task.detached { try plan.batch(index + 1) } }
            try await database.seed(batch)
            if (written + batch.count) / 50_000 > written / 50_000 {
                let elapsed = String(format: "%.1f", Date().timeIntervalSince(started))
                FileHandle.standardError.write(Data("seeded \(written + batch.count) of \(reports) reports (\(elapsed) s)\n".utf8))
            }
            written += batch.count
        }
        let seconds = Date().timeIntervalSince(started)
        let rate = Self.grouped(Int(Double(reports) / max(seconds, 0.001)))
        let total = try await database.reportCount()
        print("seeded \(reports) reports in \(String(format: "%.1f", seconds)) s (\(rate) reports/s); database now holds \(total) reports")
    }

    /// 2375 → "2,375".
    static func grouped(_ value: Int) -> String {
        var reversed = ""
        for (position, digit) in String(value).reversed().enumerated() {
            if position > 0, position % 3 == 0 { reversed.append(",") }
            reversed.append(digit)
        }
        return String(reversed.reversed())
    }
}

/// The texts seeded reports carry, each read once by the deployment's parser, with what the intake derives from it.
struct SeedTexts: Sendable {
    struct Entry: Sendable {
        var text: String
        var parsed: ParsedMessage
        var provinceCode: String?
        /// The routing level and the officers it names, duty hours aside: each report alerts one of them.
        var level: String
        var officers: [Officer]
        var acknowledgement: Numbered
        var alerts: [ParsedMessage.Language: Numbered]
    }

    let entries: [Entry]
    /// Names of the communes no text was read as.
    let unread: [String]

    init(deployment: Deployment, seed: UInt64, now: Date, count: Int = 3_000) throws {
        var random = SplitMix64(seed: seed)
        let gazetteer = deployment.gazetteer
        let destinations = Self.typed(gazetteer.places)
        let abroad = Self.typed(gazetteer.places.filter { $0.kind == .country })
        guard !gazetteer.areas.isEmpty, !abroad.isEmpty else {
            throw ValidationError("seed needs communes in the areas file and countries in the places file")
        }
        let everyone = Set(deployment.roster.officers.map(\.id))
        var entries: [Entry] = []
        for index in 0..<count {
            let area = gazetteer.areas[index % gazetteer.areas.count]
            let ward = area.name.hasPrefix("Phường")
            let bare = TextFolding.asciiFold(area.shortName)
            let female = Int.random(in: 0..<10, using: &random) < 7
            let words = Words(
                given: (female ? Self.girls : Self.boys).randomElement(using: &random)!, family: Self.families.randomElement(using: &random)!,
                female: female, age: Int.random(in: 11...17, using: &random),
                commune: (ward ? "phuong " : "xa ") + bare, bare: bare, native: (ward ? "phường " : "xã ") + area.shortName,
                destination: destinations.randomElement(using: &random)!, abroad: abroad.randomElement(using: &random)!,
                village: Self.villages.randomElement(using: &random)!,
                companion: Self.companions.randomElement(using: &random)! + " 0912\(Int.random(in: 100_000...999_999, using: &random))")
            let text = Self.templates.randomElement(using: &random)!(words)
            let parsed = deployment.parser.parse(text, receivedAt: now)
            // Only what the workflow routes: reports, and messages without a keyword that name a commune.
            guard parsed.kind == .tip || parsed.kind == .alert || (parsed.flags.contains("no_keyword") && parsed.origin.areaCode != nil) else { continue }
            let provinceCode = gazetteer.provinceCode(of: parsed.origin)
            let routing = deployment.roster.route(area: parsed.origin.areaCode.flatMap(gazetteer.area(code:)), provinceCode: provinceCode,
                                                  at: now, extraOnDuty: everyone)
            guard !routing.officers.isEmpty else { continue }
            let alerts = ParsedMessage.Language.allCases.map { language in
                (language, Numbered(OfficerAlert.text(number: Numbered.standIn, report: parsed, catalogue: deployment.replies, language: language)))
            }
            entries.append(Entry(text: text, parsed: parsed, provinceCode: provinceCode, level: routing.level.rawValue, officers: routing.officers,
                                 acknowledgement: Numbered(Self.acknowledgement(parsed, replies: deployment.replies)),
                                 alerts: Dictionary(uniqueKeysWithValues: alerts)))
        }
        guard !entries.isEmpty else { throw ValidationError("seed: no text could be routed (check the roster)") }
        let read = Set(entries.compactMap(\.parsed.origin.areaCode))
        self.entries = entries
        unread = gazetteer.areas.filter { !read.contains($0.code) }.map(\.name)
    }

    /// The reporter's acknowledgement, chosen as the workflow chooses it.
    static func acknowledgement(_ parsed: ParsedMessage, replies: ReplyCatalogue) -> String {
        let number = ["number": String(Numbered.standIn)]
        switch parsed.kind {
        case .alert:
            return replies.render(.ackAlert, parsed.language, number)
        case .tip where parsed.urgent:
            return replies.render(.ackAlert, parsed.language, number)
        case .tip where !parsed.missing.isEmpty:
            let missing = parsed.missing.map { field in
                replies.render(ReplyCatalogue.Key(rawValue: "missing_\(field)") ?? .missingOrigin, parsed.language)
            }.joined(separator: ", ")
            return replies.render(.ackPartial, parsed.language, number.merging(["missing": missing]) { $1 })
        case .tip:
            return replies.render(.ackTip, parsed.language, number)
        default:
            return replies.render(.ackUnknown, parsed.language, number)
        }
    }

    /// How people type places ("HCM", "Binh Duong", "TQ"), the commonest destinations more often.
    static func typed(_ places: [Place]) -> [String] {
        places.flatMap { place -> [String] in
            let forms = [TextFolding.asciiFold(place.name.replacingOccurrences(of: "Thành phố ", with: ""))] + place.aliases.map(TextFolding.asciiFold)
            return Array(Array(repeating: forms, count: weights[place.code] ?? 1).joined())
        }
    }

    static let weights = ["CN": 6, "79": 3, "1": 2, "MY": 2, "LA": 2, "KH": 2]

    /// One message's fictional words.
    struct Words {
        var given, family: String
        var female: Bool
        var age: Int
        /// "xa Lung Cu", "Lung Cu", "xã Lũng Cú".
        var commune, bare, native: String
        var destination, abroad: String
        var village, companion: String
        var sex: String { female ? "nu" : "trai" }
        var child: String { female ? "gai" : "trai" }
        var english: String { female ? "girl" : "boy" }
    }

    /// Messages as villagers type them (docs/grammar.md).
    static let templates: [@Sendable (Words) -> String] = [
        { "TRE \($0.given) \($0.age)t \($0.sex) \($0.commune) di \($0.destination)" },
        { "tre \($0.family) \($0.given) \($0.age) \($0.child) \($0.commune) di \($0.destination)".lowercased() },
        { "KHAN be \($0.child) \($0.age)t \($0.commune) dang bi dua sang \($0.abroad)" },
        { "REPORT \($0.given) \($0.age) \($0.english) \($0.bare) to \($0.destination)" },
        { "TRE \($0.family) \($0.female ? "Thi" : "Van") \($0.given) \($0.age) tuoi \($0.sex) thon \($0.village) \($0.commune) di \($0.destination)" },
        { "Chao anh, TRE \($0.given) \($0.age)t\($0.sex) \($0.commune) di \($0.destination) voi \($0.companion)" },
        { "TRE TEN: \($0.family) \($0.given); TUOI: \($0.age); GT: \($0.sex); XA: \($0.bare); DI: \($0.destination)" },
        { "SOS tre bi giu o \($0.bare)" },
        { "URGENT \($0.english) \($0.age) in \($0.bare) taken to \($0.abroad)" },
        { "TRẺ \($0.given) \($0.age) tuổi \($0.female ? "nữ" : "nam") \($0.native) đi \($0.destination)" },
        { "con toi \($0.age) tuoi o \($0.commune) bi dua di \($0.destination)" },
    ]

    static let girls = ["Lan", "Mai", "Mo", "Say", "Mi", "Chia", "Hue", "Nga", "Thu", "Lien", "Xuan", "Ngoc", "Pang", "Dinh"]
    static let boys = ["Pao", "Seo", "Sinh", "Chung", "Tuan", "Minh", "Cuong", "Khai", "Dung", "Hung", "Thang"]
    static let families = ["Giang", "Sung", "Vang", "Thao", "Lo", "Mua", "Hoang", "Nguyen", "Tran", "Ly", "Chau", "Ma"]
    static let villages = ["Na Ri", "Sang Tung", "Lo Lo Chai", "Seo Lung", "Khai Hoang", "Ta Chu"]
    static let companions = ["chu Tuan", "anh Dung", "chi Hoa", "co Lien"]
}

/// A text rendered once with a stand-in report number, then given each report's own.
struct Numbered: Sendable {
    /// Seven digits, which no seeded text contains.
    static let standIn = 9_999_999
    let parts: [String]

    init(_ text: String) { parts = text.components(separatedBy: String(Self.standIn)) }

    func text(_ number: Int) -> String { parts.joined(separator: String(number)) }
}

/// The seeded reports, batch by batch: a batch depends only on the seed, its first number and the texts.
struct SeedPlan: Sendable {
    static let batchSize = 2_000
    /// Fictional reporters: +8491 and seven digits, each reporting about twice in a million reports.
    static let reporters = 500_000
    static let outcomes: [Outcome] = [.returned, .returned, .returned, .stopped, .stopped, .police, .social, .found, .notFound, .notFound, .falseReport]

    let texts: SeedTexts
    let cipher: FieldCipher
    let channel: String
    let first: Int
    let count: Int
    let seed: UInt64
    let start: Date
    let now: Date

    var batches: Int { (count + Self.batchSize - 1) / Self.batchSize }

    func batch(_ index: Int) throws -> [SeedReport] {
        let range = index * Self.batchSize ..< min(count, (index + 1) * Self.batchSize)
        var random = SplitMix64(seed: seed ^ (UInt64(first + range.lowerBound) &* 0xD1B5_4A32_D192_ED03))
        var reports: [SeedReport] = []
        reports.reserveCapacity(range.count)
        for offset in range { reports.append(try report(offset, &random)) }
        return reports
    }

    /// The report `offset` places after the first: received at its share of the period, so numbers and times rise together.
    func report(_ offset: Int, _ random: inout SplitMix64) throws -> SeedReport {
        let number = first + offset
        let entry = texts.entries.randomElement(using: &random)!
        let span = now.timeIntervalSince(start)
        let received = start.addingTimeInterval(span * (Double(offset) + Double.random(in: 0..<1, using: &random)) / Double(count))
        let age = now.timeIntervalSince(received)
        /// A moment `delay` after the report, never after now.
        func after(_ delay: TimeInterval) -> Date { received.addingTimeInterval(min(delay, age * 0.9)) }
        let reporter = "+8491\(1_000_000 + Int.random(in: 0..<Self.reporters, using: &random) * 7_919 % 9_000_000)"
        let roll = Int.random(in: 0..<100, using: &random)
        let status: Report.Status = age > 30 * 86_400
            ? (roll < 92 ? .closed : roll < 96 ? .home : roll < 99 ? .acknowledged : .open)
            : (roll < 30 ? .closed : roll < 45 ? .home : roll < 75 ? .acknowledged : .open)
        let officer = entry.officers.randomElement(using: &random)!
        let acknowledged = after(Double.random(in: 120...(entry.parsed.urgent ? 3_600 : 28_800), using: &random))
        let closed = after(acknowledged.timeIntervalSince(received) + Double.random(in: 3_600...(20 * 86_400), using: &random))
        let delivered = Int.random(in: 0..<100, using: &random) < 85

        var report = Report(number: number, parsed: entry.parsed, status: status, channel: channel, reporter: reporter, text: entry.text,
                            receivedAt: received, provinceCode: entry.provinceCode)
        var events = [
            ReportEvent(reportNumber: number, at: received, kind: "received", actor: "reporter " + PhoneNumber.mask(reporter),
                        detail: "\(entry.parsed.kind.rawValue) via sms on \(channel)"),
            ReportEvent(reportNumber: number, at: received, kind: "routed", actor: "system", detail: "\(entry.level): \(officer.id)"),
        ]
        if status != .open {
            report.assignedTo = officer.id
            report.acknowledgedAt = acknowledged
            report.updatedAt = acknowledged
        }
        if status == .closed {
            let outcome = Self.outcomes.randomElement(using: &random)!
            report.closedAt = closed
            report.updatedAt = closed
            report.outcome = outcome
            events.append(ReportEvent(reportNumber: number, at: closed, kind: "closed", actor: officer.id, detail: outcome.rawValue))
        } else if status != .open {
            events.append(ReportEvent(reportNumber: number, at: acknowledged, kind: "acknowledged", actor: officer.id))
        }
        try report.seal(with: cipher)
        var inbound = InboundMessage(channel: channel, providerMessageID: "SEED\(number)", sender: reporter, recipient: nil, body: entry.text,
                                     receivedAt: received, reportNumber: number)
        try inbound.seal(with: cipher)

        func sent(_ body: String, to recipient: String, purpose: OutboundMessage.Purpose, id: String) -> OutboundMessage {
            var message = OutboundMessage(channel: channel, recipient: recipient, body: body, purpose: purpose, reportNumber: number, at: received)
            message.state = delivered ? .delivered : .sent
            message.attempts = 1
            message.providerMessageID = id
            message.sentAt = after(2)
            message.updatedAt = after(delivered ? 9 : 2)
            message.bundleable = purpose == .alert
            return message
        }
        let outbox = [
            sent(entry.acknowledgement.text(number), to: reporter, purpose: .acknowledgement, id: "SEED-R\(number)"),
            sent(entry.alerts[officer.language]!.text(number), to: officer.phone, purpose: .alert, id: "SEED-A\(number)"),
        ]
        return SeedReport(report: report, inbound: inbound, events: events, outbox: outbox)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small and fast, and the same seed gives the same numbers.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
