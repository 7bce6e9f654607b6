import Foundation
import GRDB
import TiplineCore
import TiplineStore

/// What one inbound message does to the store, inside the intake's write transaction.
///
/// Reports are created and routed, officer commands change cases, and every answer is queued in the outbox —
/// so the message, its effects and its replies commit together or not at all.
struct MessageHandler {
    let db: Database
    let deployment: Deployment
    let now: Date
    let sender: String
    let channel: String
    let replyChannel: String
    let via: String
    /// Set when someone outside the roster tried an officer command (the intake logs it).
    var refusedOfficerCommand: ParsedMessage.Command?

    var replies: ReplyCatalogue { deployment.replies }
    var roster: DutyRoster { deployment.roster }

    init(db: Database, deployment: Deployment, now: Date, sender: String, channel: String, replyChannel: String, via: String) {
        self.db = db
        self.deployment = deployment
        self.now = now
        self.sender = sender
        self.channel = channel
        self.replyChannel = replyChannel
        self.via = via
    }

    mutating func handle(_ message: InboundMessage, parsed: ParsedMessage, report prepared: Report?) throws -> Intake.Outcome {
        var inbound = message
        // Exactly once: a provider retry carries the same id; the unique key turns it away, even when it races.
        try inbound.insert(db, onConflict: .ignore)
        guard db.changesCount == 1, inbound.id != nil else { return .duplicate }

        let report: Int?
        if parsed.kind == .command, let command = parsed.command {
            report = try handleCommand(command, parsed: parsed)
        } else {
            report = try openReport(prepared ?? Report(parsed: parsed, channel: channel, via: via, reporter: sender, text: message.body,
                                                       receivedAt: now), status: .open)
        }
        if let report {
            try db.execute(sql: "UPDATE inbound_message SET report_number = ? WHERE id = ?", arguments: [report, inbound.id])
        }
        return .stored(report: report)
    }

    // MARK: - Reports

    /// Stores a report, routes a tip or an alert to the officers on duty, and acknowledges it to the reporter.
    /// A tip about a child already in an open case is attached to that case instead of alerting again.
    mutating func openReport(_ prepared: Report, status: Report.Status) throws -> Int {
        let parsed = prepared.parsed
        let area = parsed.origin.areaCode.flatMap(deployment.gazetteer.area(code:))
        let routed = (parsed.kind == .tip || parsed.kind == .alert) && status == .open
        if routed, let existing = try sameChild(as: parsed) {
            try event(existing, "same_child", actor: "reporter", detail: prepared.text)
            try reply(.duplicateChild, parsed.language, ["number": "\(existing)"], report: existing, purpose: .acknowledgement)
            return existing
        }
        var report = prepared
        report.status = status
        if routed {
            let policy = deployment.escalation.policy(province: area?.provinceCode)
            report.nextEscalationAt = policy.next(after: .init(level: 0, round: 0), urgent: parsed.urgent, from: now)?.1
        }
        try report.insert(db)
        let number = report.number!
        try event(number, "received", actor: "reporter", detail: "\(parsed.kind.rawValue) via \(via) on \(channel)")
        if !parsed.missing.isEmpty { try event(number, "parsed", detail: "missing: \(parsed.missing.joined(separator: ", "))") }

        if routed {
            try route(number, parsed: parsed, area: area, provinceCode: report.provinceCode)
            try clusterAlerts(report)
        }
        if status != .partial {
            let language = parsed.language
            switch parsed.kind {
            case .alert:
                try reply(.ackAlert, language, ["number": "\(number)"], report: number, purpose: .acknowledgement)
            case .tip where !parsed.missing.isEmpty:
                let missing = parsed.missing.map { field -> String in
                    let key = ReplyCatalogue.Key(rawValue: "missing_\(field)") ?? .missingOrigin
                    return replies.render(key, language)
                }.joined(separator: ", ")
                try reply(.ackPartial, language, ["number": "\(number)", "missing": missing], report: number, purpose: .acknowledgement)
            case .tip:
                try reply(.ackTip, language, ["number": "\(number)"], report: number, purpose: .acknowledgement)
            default:
                try reply(.ackUnknown, language, ["number": "\(number)"], report: number, purpose: .acknowledgement)
            }
        }
        return number
    }

    /// Queues an alert to each officer the roster names for the report's commune (or province, or hotline).
    /// An ambiguous commune whose candidates share a province still reaches that province's supervisors.
    func route(_ number: Int, parsed: ParsedMessage, area: Area?, provinceCode: String?) throws {
        let overrides = try AppDatabase.dutyOverrides(db, now: now)
        let routing = roster.route(area: area, provinceCode: provinceCode, at: now, extraOnDuty: overrides.on, offDuty: overrides.off)
        let alerts = Alerts(db: db, deployment: deployment, now: now)
        try alerts.send(alerts.alertText(number: number, report: parsed), to: routing.officers, report: number, province: provinceCode,
                        urgent: parsed.urgent)
        try event(number, "routed", detail: "\(routing.level.rawValue): \(routing.officers.map(\.id).joined(separator: ", "))")
    }

    /// An open case about the same child: same folded name, age within a year, same commune, in the last 30 days.
    func sameChild(as parsed: ParsedMessage) throws -> Int? {
        guard let name = parsed.child.name, let age = parsed.child.age, let area = parsed.origin.areaCode else { return nil }
        let statement = try db.cachedStatement(sql: """
            SELECT number FROM report WHERE area_code = ? AND child_key = ? AND status IN ('open', 'acknowledged', 'home')
                AND received_at >= ? AND json_extract(parsed, '$.child.age') BETWEEN ? AND ?
            ORDER BY number DESC LIMIT 1
            """)
        return try Int.fetchOne(statement, arguments: [area, TextFolding.fold(name), now.addingTimeInterval(-30 * 86400), age - 1, age + 1])
    }

    /// Two or more tips from one commune to one destination within 7 days, or naming one companion's phone,
    /// raise one warning to the province's supervisors and hotline ("children may be leaving as a group").
    func clusterAlerts(_ report: Report) throws {
        let alerts = Alerts(db: db, deployment: deployment, now: now)
        var warnings: [(key: String, text: (ParsedMessage.Language) -> String, numbers: [Int], count: Int)] = []
        /// How many reports match, and the latest four numbers (indexed queries: this runs on every tip).
        func group(_ condition: String, _ arguments: StatementArguments) throws -> (count: Int, numbers: [Int]) {
            let count = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM report WHERE \(condition)"), arguments: arguments) ?? 0
            guard count >= 2 else { return (count, []) }
            let numbers = try Int.fetchAll(db.cachedStatement(sql: "SELECT number FROM report WHERE \(condition) ORDER BY number DESC LIMIT 4"),
                                           arguments: arguments)
            return (count, numbers.reversed())
        }
        if let area = report.areaCode, let destination = report.parsed.destination.code {
            let (count, numbers) = try group("area_code = ? AND destination_code = ? AND received_at >= ? AND kind IN ('tip', 'alert')",
                                             [area, destination, now.addingTimeInterval(-7 * 86400)])
            if count >= 2 {
                let areaName = TextFolding.asciiFold(report.parsed.origin.areaName ?? area)
                let place = TextFolding.asciiFold(report.parsed.destination.name ?? destination)
                let values = ["count": "\(count)", "area": areaName, "destination": place, "numbers": numbers.map { "#\($0)" }.joined(separator: " ")]
                warnings.append(("destination:\(area):\(destination)", { [replies] in replies.render(.clusterDestination, $0, values) }, numbers, count))
            }
        }
        if let phone = report.parsed.companion.phone {
            let (count, numbers) = try group("companion_phone = ? AND received_at >= ?", [phone, now.addingTimeInterval(-30 * 86400)])
            if count >= 2 {
                let values = ["count": "\(count)", "phone": phone, "numbers": numbers.map { "#\($0)" }.joined(separator: " ")]
                warnings.append(("companion:\(phone)", { [replies] in replies.render(.clusterCompanion, $0, values) }, numbers, count))
            }
        }
        for warning in warnings {
            // One warning per group a week; later reports join it silently (they are in the timeline).
            let recent = try Date.fetchOne(db.cachedStatement(sql: "SELECT at FROM cluster_alert WHERE key = ?"), arguments: [warning.key])
            guard recent.map({ now.timeIntervalSince($0) > 7 * 86400 }) ?? true else { continue }
            try db.execute(sql: "INSERT OR REPLACE INTO cluster_alert (key, at, reports) VALUES (?, ?, ?)",
                           arguments: [warning.key, now, "\(warning.count) reports; latest " + warning.numbers.map(String.init).joined(separator: ",")])
            let officers = try alerts.recipients([.province, .hotline], report: report, everyone: true)
            try alerts.send(warning.text, to: officers, report: report.number!, province: report.provinceCode, urgent: true)
            for number in warning.numbers {
                try event(number, "cluster", detail: "\(warning.key): \(warning.count) reports, latest \(warning.numbers.map(String.init).joined(separator: ", "))")
            }
        }
    }

    // MARK: - Commands

    mutating func handleCommand(_ command: ParsedMessage.Command, parsed: ParsedMessage) throws -> Int? {
        let language = parsed.language
        let officer = roster.officer(phone: sender)
        if command.isOfficerCommand, officer == nil {
            // Only registered officers: anyone else gets the reporter's help, and the attempt is kept.
            try reply(.help, language)
            if let number = parsed.number, try Report.fetchOne(db, key: number) != nil {
                try event(number, "refused_command", actor: PhoneNumber.mask(sender), detail: "\(command.rawValue) from a number not in the roster")
            }
            refusedOfficerCommand = command
            return nil
        }
        switch command {
        case .help:
            try reply(.help, language)
            return nil
        case .stop:
            try AppDatabase.setOptOut(db, phone: sender, optedOut: true, at: now)
            try reply(.stopOK, language, force: true)
            return nil
        case .start:
            try AppDatabase.setOptOut(db, phone: sender, optedOut: false, at: now)
            try reply(.startOK, language)
            return nil
        case .dutyOn, .dutyOff:
            let until = endOfDay()
            try AppDatabase.setDutyOverride(db, officerID: officer!.id, onDuty: command == .dutyOn, until: until)
            try reply(command == .dutyOn ? .officerDutyOn : .officerDutyOff, language, ["until": "23:59"])
            return nil
        case .list:
            try listCases(officer!, language: language)
            return nil
        default:
            break
        }
        guard let number = parsed.number else {
            try reply(.needNumber, language, ["keyword": keywordWord(command, language)])
            return nil
        }
        guard var report = try Report.fetchOne(db, key: number), report.kind != .command else {
            try reply(.notFound, language, ["number": "\(number)"])
            return nil
        }
        let isReporter = report.reporter == sender
        let actor = officer?.id ?? "reporter"
        switch command {
        case .status:
            guard isReporter else {
                try reply(.notFound, language, ["number": "\(number)"])
                return nil
            }
            let statusKey = ReplyCatalogue.Key(rawValue: "status_\(report.status.rawValue)") ?? .statusOpen
            try reply(.status, language, ["number": "\(number)", "status": replies.render(statusKey, language)], report: number)
        case .add:
            guard isReporter || officer != nil else {
                try reply(.notFound, language, ["number": "\(number)"])
                return nil
            }
            try event(number, "note", actor: actor, detail: parsed.note)
            if let note = parsed.note, report.kind != .unknown {
                // Added details fill what the report was missing ("BS 1001 14 tuoi, di Trung Quoc").
                let added = deployment.parser.parse("TRE " + note, receivedAt: now)
                report.parsed.fill(from: added)
                report.urgent = report.parsed.urgent
                report.areaCode = report.parsed.origin.areaCode
                report.provinceCode = report.areaCode.flatMap(deployment.gazetteer.area(code:))?.provinceCode ?? report.provinceCode
            }
            try touch(&report)
            try reply(officer != nil && !isReporter ? .officerNoteOK : .addOK, language, ["number": "\(number)"], report: number)
        case .home:
            guard isReporter || officer != nil else {
                try reply(.notFound, language, ["number": "\(number)"])
                return nil
            }
            if report.status != .closed { report.status = .home }
            try event(number, "home", actor: actor, detail: parsed.note)
            try touch(&report)
            try reply(officer != nil && !isReporter ? .officerHomeOK : .homeOK, language, ["number": "\(number)"], report: number)
        case .ack:
            if let holder = report.assignedTo, holder != officer!.id {
                let name = roster.officer(id: holder)?.name ?? holder
                try reply(.officerAlreadyTaken, language, [
                    "number": "\(number)", "officer": TextFolding.asciiFold(name), "time": localTime(report.acknowledgedAt ?? now),
                ], report: number)
                try event(number, "ack_refused", actor: actor, detail: "already taken by \(holder)")
            } else {
                if report.assignedTo == nil {
                    report.assignedTo = officer!.id
                    report.acknowledgedAt = now
                    if report.status == .open { report.status = .acknowledged }
                    // The escalation stops; a reminder follows if the case then sees no update.
                    let policy = deployment.escalation.policy(province: report.provinceCode)
                    report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: report.urgent).reminderAfter)
                    try event(number, "acknowledged", actor: actor)
                    try touch(&report)
                }
                try reply(.officerAckOK, language, ["number": "\(number)"], report: number)
            }
        case .pass:
            try event(number, "passed", actor: actor, detail: parsed.note)
            if report.status != .closed {
                // Back to nobody's case, and to the next level now (the escalation service runs it at once).
                report.assignedTo = nil
                report.status = .open
                report.nextEscalationAt = now
            }
            try touch(&report)
            try reply(.officerPassOK, language, ["number": "\(number)"], report: number)
        case .close:
            report.status = .closed
            report.closedAt = now
            report.nextEscalationAt = nil
            report.result = parsed.note
            if report.assignedTo == nil { report.assignedTo = officer!.id }
            try event(number, "closed", actor: actor, detail: parsed.note)
            try touch(&report)
            try reply(.officerCloseOK, language, ["number": "\(number)"], report: number)
            if deployment.settings.notifyReporterOnClose, let reporter = report.reporter, reporter != sender {
                try queue(to: reporter, channel: report.channel == channel ? channel : report.channel,
                          text: replies.render(.reporterHandled, report.language, ["number": "\(number)"]), report: number, purpose: .reply)
            }
        case .show:
            let summary = "\(report.status.rawValue), " + OfficerAlert.summary(report.parsed, language: language)
            try reply(.officerShow, language, ["number": "\(number)", "summary": summary], report: number, maxSegments: 3)
        default:
            try reply(.help, language)
        }
        return number
    }

    func listCases(_ officer: Officer, language: ParsedMessage.Language) throws {
        let open = try Report
            .filter([Report.Status.open, .acknowledged, .home].contains(Report.Columns.status))
            .filter(Report.Columns.assignedTo == officer.id || officer.areas.contains(Report.Columns.areaCode)
                    || officer.provinces.contains(Report.Columns.provinceCode))
            .order(Report.Columns.urgent.desc, Report.Columns.number.desc)
            .limit(12)
            .fetchAll(db)
        guard !open.isEmpty else {
            try reply(.officerListEmpty, language)
            return
        }
        let cases = open.map { report in
            (report.urgent ? "!" : "") + "\(report.number!)" + (report.assignedTo == officer.id ? "*" : "")
        }.joined(separator: " ")
        try reply(.officerList, language, ["cases": cases], maxSegments: 3)
    }

    // MARK: - Helpers

    func keywordWord(_ command: ParsedMessage.Command, _ language: ParsedMessage.Language) -> String {
        let vi: [ParsedMessage.Command: String] = [.add: "BS", .home: "VE", .status: "KT", .ack: "NHAN", .pass: "CHUYEN", .close: "XONG", .show: "XEM"]
        let en: [ParsedMessage.Command: String] = [.add: "ADD", .home: "HOME", .status: "STATUS", .ack: "ACK", .pass: "PASS", .close: "DONE", .show: "SHOW"]
        return (language == .en ? en : vi)[command] ?? "KT"
    }

    func touch(_ report: inout Report) throws {
        report.updatedAt = now
        report.reminders = 0
        try report.update(db)
    }

    func event(_ number: Int, _ kind: String, actor: String? = "system", detail: String? = nil) throws {
        var event = ReportEvent(reportNumber: number, at: now, kind: kind, actor: actor, detail: detail)
        try event.insert(db)
    }

    /// Queues a reply to the sender; nothing to a number that sent STOP, except the confirmation itself.
    func reply(_ key: ReplyCatalogue.Key, _ language: ParsedMessage.Language, _ values: [String: String] = [:],
               report: Int? = nil, purpose: OutboundMessage.Purpose = .reply, force: Bool = false, maxSegments: Int = 1) throws {
        // Lists and case summaries may take up to three segments.
        let text = replies.render(key, language, values, septets: maxSegments > 1 ? 153 * maxSegments : 160)
        try queue(to: sender, channel: replyChannel, text: text, report: report, purpose: purpose, force: force)
    }

    func queue(to recipient: String, channel: String, text: String, report: Int?, purpose: OutboundMessage.Purpose, force: Bool = false) throws {
        if !force, try AppDatabase.isOptedOut(db, phone: recipient) { return }
        var message = OutboundMessage(channel: channel, recipient: recipient, body: text, purpose: purpose, reportNumber: report, at: now)
        try message.insert(db)
    }

    func localTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = deployment.settings.timeZone
        formatter.dateFormat = "HH:mm dd/MM"
        return formatter.string(from: date)
    }

    func endOfDay() -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = deployment.settings.timeZone
        let start = calendar.startOfDay(for: now)
        return calendar.date(byAdding: .day, value: 1, to: start)!
    }
}
