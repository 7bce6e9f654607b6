import Foundation
import TiplineCore
import TiplineStore

/// What one inbound SMS does, inside the intake's write transaction: the SMS face of the ``CaseWorkflow``.
///
/// Reports go to the workflow to be opened, merged and routed; officers' and reporters' commands become workflow
/// actions, and the workflow's refusals become SMS answers. The message, its effects and its replies commit together
/// or not at all.
struct MessageHandler {
    let store: CaseStore
    let deployment: Deployment
    let now: Date
    let sender: String
    let channel: String
    let via: String
    /// Set when someone outside the roster tried an officer command (the intake logs it).
    var refusedOfficerCommand: ParsedMessage.Command?

    var replies: ReplyCatalogue { deployment.replies }
    var roster: DutyRoster { deployment.roster }
    var workflow: CaseWorkflow { CaseWorkflow(store: store, deployment: deployment, now: now, gate: gate) }
    /// What this message may make tipline send back, once it is stored.
    var gate: ReplyGate?
    /// Answers go back on the channel the message came in on when it sends SMS.
    var replyAddress: ReplyAddress { ReplyAddress(phone: sender, channel: deployment.smsChannel(replyingOn: channel)) }

    init(store: CaseStore, deployment: Deployment, now: Date, sender: String, channel: String, via: String) {
        self.store = store
        self.deployment = deployment
        self.now = now
        self.sender = sender
        self.channel = channel
        self.via = via
    }

    mutating func handle(_ message: InboundMessage, parsed: ParsedMessage, report prepared: Report?) throws -> Intake.Outcome {
        var inbound = message
        // Exactly once: a provider retry carries the same id; the unique key turns it away, even when it races.
        guard try store.insertOnce(&inbound) else { return .duplicate }
        gate = try ReplyGate.evaluate(store, limits: deployment.settings.limits, sender: sender, isOfficer: try confirmedOfficer() != nil,
                                      unreadable: parsed.kind == .unknown, now: now)
        let report: Int?
        if parsed.kind == .command, let command = parsed.command {
            report = try handleCommand(command, parsed: parsed)
        } else {
            let prepared = prepared ?? Report(parsed: parsed, channel: channel, via: via, reporter: sender, text: message.body, receivedAt: now,
                                              provinceCode: deployment.gazetteer.provinceCode(of: parsed.origin))
            report = try workflow.open(prepared, status: .open, replyTo: replyAddress)
        }
        // Only a report the sender opened, joined or was allowed to act on is linked to the message.
        if let report { try store.link(inbound: inbound.id, to: report, reported: parsed.kind != .command) }
        return .stored(report: report)
    }

    // MARK: - Commands

    /// Runs one command; returns the report it acted on, or nil when it named none or was refused.
    /// The roster officer with this number, once the number has confirmed its invitation: until then it is treated
    /// as any unknown number (it may only confirm), so a mistyped roster number reads and changes nothing.
    func confirmedOfficer() throws -> Officer? {
        guard let officer = roster.officer(phone: sender) else { return nil }
        return try workflow.unconfirmedOfficers().contains(officer.id) ? nil : officer
    }

    mutating func handleCommand(_ command: ParsedMessage.Command, parsed: ParsedMessage) throws -> Int? {
        let language = parsed.language
        if command == .confirm, let entry = roster.officer(phone: sender) {
            guard let code = parsed.number, try workflow.confirmNumber(of: entry, code: code) else {
                try reply(.officerConfirmWrong, language)
                return nil
            }
            try reply(.officerConfirmed, language)
            return nil
        }
        let officer = try confirmedOfficer()
        if command.isOfficerCommand, officer == nil {
            // Only registered officers: anyone else gets the reporter's help, and the attempt is kept.
            try reply(.help, language)
            if let number = parsed.number, try store.report(number) != nil {
                try workflow.event(number, "refused_command", actor: .reporter(phone: sender),
                                   detail: "\(command.rawValue) from \(PhoneNumber.mask(sender)), a number not in the roster")
            }
            refusedOfficerCommand = command
            return nil
        }
        switch command {
        case .help:
            try reply(.help, language)
            return nil
        case .stop:
            // The confirmation goes even to an opted-out number, but once: a repeated STOP is not answered.
            let already = try store.isOptedOut(sender)
            try store.setOptOut(sender, optedOut: true, at: now)
            try reply(.stopOK, language, force: !already)
            return nil
        case .start:
            try store.setOptOut(sender, optedOut: false, at: now)
            try reply(.startOK, language)
            return nil
        case .dutyOn, .dutyOff:
            try store.setDutyOverride(officerID: officer!.id, onDuty: command == .dutyOn, until: endOfDay())
            try reply(command == .dutyOn ? .officerDutyOn : .officerDutyOff, language, ["until": "23:59"])
            return nil
        case .list:
            try listCases(officer!, language: language)
            return nil
        default:
            break
        }
        var number = parsed.number
        if number == nil, command == .ack, let officer {
            number = try latestAlert(to: officer) // a bare NHAN takes the latest alert sent to this officer
        }
        guard let number else {
            try reply(.needNumber, language, ["keyword": keywordWord(command, language)])
            return nil
        }
        let actor = try self.actor(for: command, report: number, officer: officer)
        let byOfficer: Bool = if case .officer = actor { true } else { false }
        let values = ["number": "\(number)"]
        do {
            switch command {
            case .status:
                let report = try workflow.accessibleCase(number, by: .reporter(phone: sender), action: "status")
                let statusKey = ReplyCatalogue.Key(rawValue: "status_\(report.status.rawValue)") ?? .statusOpen
                try reply(.status, language, ["number": "\(number)", "status": replies.render(statusKey, language)], report: number)
            case .add:
                try workflow.note(number, text: parsed.note, by: actor)
                try reply(byOfficer ? .officerNoteOK : .addOK, language, values, report: number)
            case .home:
                try workflow.home(number, note: parsed.note, by: actor)
                try reply(byOfficer ? .officerHomeOK : .homeOK, language, values, report: number)
            case .ack:
                try workflow.acknowledge(number, by: actor)
                try reply(.officerAckOK, language, values, report: number)
            case .pass:
                try workflow.pass(number, note: parsed.note, by: actor)
                try reply(.officerPassOK, language, values, report: number)
            case .close:
                try workflow.close(number, result: parsed.note, outcome: parsed.outcome, by: actor)
                try reply(.officerCloseOK, language, values, report: number)
            case .show:
                let report = try workflow.show(number, by: actor)
                let summary = "\(report.status.rawValue), " + OfficerAlert.summary(report.parsed, language: language)
                try reply(.officerShow, language, ["number": "\(number)", "summary": summary], report: number, maxSegments: 3)
            default:
                try reply(.help, language)
                return nil
            }
        } catch let refusal as CaseWorkflow.Refusal {
            try answer(refusal, number: number, language: language)
            return nil
        }
        return number
    }

    /// The SMS answer to a refused action.
    func answer(_ refusal: CaseWorkflow.Refusal, number: Int, language: ParsedMessage.Language) throws {
        switch refusal {
        case .notFound, .invalid:
            try reply(.notFound, language, ["number": "\(number)"])
        case .alreadyTaken(let holder, let since):
            // The late acknowledger learns who has the case and since when.
            let name = roster.officer(id: holder)?.name ?? holder
            try reply(.officerAlreadyTaken, language, ["number": "\(number)", "officer": TextFolding.asciiFold(name), "time": localTime(since)],
                      report: number)
        case .closed:
            try reply(.officerAlreadyClosed, language, ["number": "\(number)"], report: number)
        }
    }

    /// An officer acts as an officer, except on a case they reported themselves with a reporter's command.
    func actor(for command: ParsedMessage.Command, report number: Int, officer: Officer?) throws -> CaseActor {
        guard let officer else { return .reporter(phone: sender) }
        if command.isOfficerCommand { return .officer(officer) }
        if let report = try store.report(number), try store.isReporter(sender, of: report) { return .reporter(phone: sender) }
        return .officer(officer)
    }

    /// The case of the latest alert sent to an officer in the last week: the newest still waiting for someone, else
    /// the newest (whose answer then says who has it).
    func latestAlert(to officer: Officer) throws -> Int? {
        let numbers = try store.recentlyAlertedReports(to: officer.phone, since: now.addingTimeInterval(-7 * 86400))
        for number in numbers {
            if let report = try store.report(number), report.status == .open, report.assignedTo == nil { return number }
        }
        return numbers.first
    }

    func listCases(_ officer: Officer, language: ParsedMessage.Language) throws {
        let open = try store.openCases(heldBy: officer.id, areas: officer.areas.sorted(), provinces: officer.provinces.sorted(), limit: 12)
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

    /// Queues a reply to the sender; nothing to a number that sent STOP, except the confirmation itself.
    func reply(_ key: ReplyCatalogue.Key, _ language: ParsedMessage.Language, _ values: [String: String] = [:],
               report: Int? = nil, force: Bool = false, maxSegments: Int = 1) throws {
        try workflow.reply(key, language, values, to: replyAddress, report: report, force: force, maxSegments: maxSegments)
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
