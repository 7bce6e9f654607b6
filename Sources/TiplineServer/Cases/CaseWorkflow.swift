import Foundation
import TiplineCore
import TiplineStore

/// Who acts on a case.
enum CaseActor: Sendable {
    /// Someone who sent a report (by SMS or USSD), by their number.
    case reporter(phone: String)
    /// A roster officer answering by SMS.
    case officer(Officer)
    /// Hotline staff on the web pages or the API.
    case staff(StaffIdentity)
    /// The escalation and reminder timers.
    case system

    /// How the timeline names the actor.
    var timelineName: String {
        switch self {
        case .reporter(let phone): phone.isEmpty ? "reporter" : "reporter " + PhoneNumber.mask(phone)
        case .officer(let officer): officer.id
        // A staff account that is a roster officer acts as that officer (one holder, by SMS or on the web).
        case .staff(let staff): staff.officerID ?? staff.name
        case .system: "system"
        }
    }
}

/// Where an answer to the person who wrote goes: their number, and an SMS channel that can reach it.
struct ReplyAddress: Sendable {
    var phone: String
    var channel: String
}

/// What happens to a case, whoever acts on it: the one owner of the rules.
///
/// Opened, merged with an open case about the same child, routed, made urgent, acknowledged, noted, passed on,
/// escalated, reassigned, the child home, closed — every entry point (SMS reporter and officer commands, USSD, the
/// web pages, the API, the timers) calls these operations, inside the write transaction of the request that caused
/// them. Each one decides who may do it, what the timeline records, which texts are queued to whom and on which
/// channel, and how the escalation timer restarts.
struct CaseWorkflow {
    let store: CaseStore
    let deployment: Deployment
    let now: Date
    /// What the message being handled may make tipline send back (limits); staff actions and timers use a gate with
    /// no sender, which still keeps the country allow-list and the per-recipient cap.
    var gate: ReplyGate?

    /// Why an action was not done.
    enum Refusal: Error, Equatable {
        /// No such case, or not one the actor may see (the same answer, so nothing is revealed).
        case notFound
        /// Another officer or staff member took the case first.
        case alreadyTaken(by: String, since: Date)
        case closed
        case invalid(String)
    }

    var replies: ReplyCatalogue { deployment.replies }

    // MARK: - Opening

    /// Stores a report, routes a tip or an alert to the officers on duty, and acknowledges it to the reporter.
    ///
    /// A report about a child who already has an open case joins that case instead; when it is urgent, the case
    /// becomes urgent. The acknowledgement tells the reporter nothing about the existing case unless they reported it.
    func open(_ prepared: Report, status: Report.Status, replyTo reporter: ReplyAddress?) throws -> Int {
        let parsed = prepared.parsed
        var status = status
        // A sender past the per-sender limit floods nobody: their reports are kept for staff, not routed.
        let flooding = gate?.standing == .silent("sender_rate")
        if flooding, status == .open { status = .partial }
        // A message with no keyword that names a commune and a child goes to that commune's officers to read.
        let readable = parsed.kind == .tip || parsed.kind == .alert || (parsed.flags.contains("no_keyword") && parsed.origin.areaCode != nil)
        let routed = readable && status == .open
        if routed, var existing = try sameChild(as: parsed) {
            return try join(&existing, prepared, replyTo: reporter)
        }
        var report = prepared
        report.status = status
        if routed {
            let policy = deployment.escalation.policy(province: report.provinceCode)
            report.nextEscalationAt = policy.next(after: .init(level: 0, round: 0), urgent: parsed.urgent, from: now)?.1
        }
        try store.insert(&report)
        let number = report.number!
        try event(number, "received", actor: .reporter(phone: report.reporter ?? ""), detail: "\(parsed.kind.rawValue) via \(report.via) on \(report.channel)")
        if !parsed.missing.isEmpty { try event(number, "parsed", detail: "missing: \(parsed.missing.joined(separator: ", "))") }
        if flooding { try event(number, "held", detail: "the sender is past the per-sender message limit: kept for staff, not alerted") }
        if routed {
            let routing = try firstLevel(report)
            try route(report, officers: routing.officers, detail: routing.level.rawValue)
            try groupWarnings(report)
        }
        if status != .partial || flooding, let reporter {
            try acknowledge(report: number, parsed: parsed, to: reporter) // withheld by the gate when flooding (and counted)
        }
        return number
    }

    /// A second report about a known child. From one of the case's reporters, it joins the case. From anyone else,
    /// it becomes a report of their own, kept for staff (not alerted again) and linked to the case — so the answer,
    /// with a new number, reveals nothing about the case, and their follow-ups reach only their own report.
    /// Either way an urgent one alerts the case's officers now, and one about a child marked home reopens the case.
    private func join(_ existing: inout Report, _ prepared: Report, replyTo reporter: ReplyAddress?) throws -> Int {
        let number = existing.number!
        let knownReporter = try reporter.map { try store.isReporter($0.phone, of: existing) } ?? false
        let parsed = prepared.parsed
        if existing.status == .home {
            // The child left again: the case is live once more, its escalation restarted.
            existing.status = existing.assignedTo == nil ? .open : .acknowledged
            let policy = deployment.escalation.policy(province: existing.provinceCode)
            existing.nextEscalationAt = existing.status == .open
                ? policy.next(after: .init(level: 0, round: 0), urgent: existing.urgent || parsed.urgent, from: now)?.1
                : now.addingTimeInterval(policy.track(urgent: existing.urgent || parsed.urgent).reminderAfter)
            try event(number, "reopened", detail: "a new report about the child")
        }
        if parsed.urgent {
            if existing.urgent {
                var officers = try firstLevel(existing).officers
                if let holder = existing.assignedTo.flatMap(deployment.roster.officer(id:)) { officers.insert(holder, at: 0) }
                try route(existing, officers: officers, detail: "urgent again")
            } else {
                try raiseUrgency(&existing, reason: "\(parsed.kind.rawValue) about the same child")
            }
        }
        guard let reporter, !knownReporter else {
            // Kept in the timeline; the case's reminder clock is not reset by it.
            try event(number, "same_child", actor: .reporter(phone: reporter?.phone ?? ""), detail: prepared.text)
            try store.update(existing)
            if let reporter {
                try reply(parsed.urgent ? .ackAlert : .duplicateChild, parsed.language, ["number": "\(number)"], to: reporter, report: number,
                          purpose: .acknowledgement)
            }
            return number
        }
        var own = prepared
        own.status = .partial
        try store.insert(&own)
        let ownNumber = own.number!
        try event(ownNumber, "received", actor: .reporter(phone: reporter.phone), detail: "\(parsed.kind.rawValue) via \(own.via) on \(own.channel)")
        try event(ownNumber, "same_child", detail: "about the child of case #\(number): kept there")
        try event(number, "same_child", actor: .reporter(phone: reporter.phone), detail: "report #\(ownNumber): " + (prepared.text ?? ""))
        try store.update(existing)
        try acknowledge(report: ownNumber, parsed: parsed, to: reporter)
        return ownNumber
    }

    /// The reporter's acknowledgement: alert, tip, tip with missing fields, or unreadable.
    private func acknowledge(report number: Int, parsed: ParsedMessage, to reporter: ReplyAddress) throws {
        let language = parsed.language
        switch parsed.kind {
        case .alert:
            try reply(.ackAlert, language, ["number": "\(number)"], to: reporter, report: number, purpose: .acknowledgement)
        case .tip where parsed.urgent:
            try reply(.ackAlert, language, ["number": "\(number)"], to: reporter, report: number, purpose: .acknowledgement)
        case .tip where !parsed.missing.isEmpty:
            let missing = parsed.missing.map { field -> String in
                replies.render(ReplyCatalogue.Key(rawValue: "missing_\(field)") ?? .missingOrigin, language)
            }.joined(separator: ", ")
            try reply(.ackPartial, language, ["number": "\(number)", "missing": missing], to: reporter, report: number, purpose: .acknowledgement)
        case .tip:
            try reply(.ackTip, language, ["number": "\(number)"], to: reporter, report: number, purpose: .acknowledgement)
        default:
            try reply(.ackUnknown, language, ["number": "\(number)"], to: reporter, report: number, purpose: .acknowledgement)
        }
    }

    /// An open case about the same child: same folded name, age within a year, same commune, in the last 30 days.
    func sameChild(as parsed: ParsedMessage) throws -> Report? {
        guard let name = parsed.child.name, let age = parsed.child.age, let area = parsed.origin.areaCode else { return nil }
        return try store.sameChildCase(areaCode: area, childKey: TextFolding.fold(name), ages: (age - 1)...(age + 1),
                                       since: now.addingTimeInterval(-30 * 86400))
    }

    // MARK: - Urgency

    /// Urgency only goes up: the case moves to the urgent policy from its first level, and the officers of that level
    /// — and whoever holds the case — are alerted now.
    func raiseUrgency(_ report: inout Report, reason: String) throws {
        guard !report.urgent else { return }
        let number = report.number!
        report.urgent = true
        report.parsed.urgent = true
        let policy = deployment.escalation.policy(province: report.provinceCode)
        report.escalationLevel = 0
        report.escalationRound = 0
        if report.status == .open {
            report.nextEscalationAt = policy.next(after: .init(level: 0, round: 0), urgent: true, from: now)?.1
        } else {
            report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: true).reminderAfter)
        }
        try event(number, "urgent", detail: reason)
        var officers = try firstLevel(report).officers
        if let holder = report.assignedTo.flatMap(deployment.roster.officer(id:)) { officers.insert(holder, at: 0) }
        try route(report, officers: officers, detail: "urgent")
    }

    // MARK: - Routing

    /// The officers the roster names for the report's commune (or province, or hotline) now.
    /// An ambiguous commune whose candidates share a province still reaches that province's supervisors.
    private func firstLevel(_ report: Report) throws -> DutyRoster.Routing {
        let overrides = try unavailableOfficers()
        let area = report.areaCode.flatMap(deployment.gazetteer.area(code:))
        return deployment.roster.route(area: area, provinceCode: report.provinceCode, at: now,
                                       extraOnDuty: overrides.on, offDuty: overrides.off)
    }

    /// Queues the report's alert to officers and records it in the timeline.
    private func route(_ report: Report, officers: [Officer], detail: String) throws {
        let number = report.number!
        try alerts.send(alerts.alertText(number: number, report: report.parsed), to: officers, report: report)
        try event(number, "routed", detail: "\(detail): \(officers.map(\.id).joined(separator: ", "))")
    }

    var alerts: Alerts { Alerts(store: store, deployment: deployment, now: now) }

    /// Two or more tips from one commune to one destination within 7 days, or naming one companion's phone,
    /// raise one warning to the province's supervisors and hotline ("children may be leaving as a group").
    private func groupWarnings(_ report: Report) throws {
        var warnings: [(key: String, text: (ParsedMessage.Language) -> String, numbers: [Int], count: Int)] = []
        // One warning per group a week; later reports join it silently (they are in the timeline). The group is only
        // counted when no warning went out this week: a busy group's every next report costs one lookup, not a count.
        func warnedThisWeek(_ key: String) throws -> Bool {
            try store.lastGroupWarning(key: key).map { now.timeIntervalSince($0) <= 7 * 86400 } ?? false
        }
        if let area = report.areaCode, let destination = report.parsed.destination.code {
            let key = "destination:\(area):\(destination)"
            if try !warnedThisWeek(key) {
                let (count, numbers) = try store.reportsGoing(from: area, to: destination, since: now.addingTimeInterval(-7 * 86400))
                if count >= 2 {
                    let areaName = TextFolding.asciiFold(report.parsed.origin.areaName ?? area)
                    let place = TextFolding.asciiFold(report.parsed.destination.name ?? destination)
                    let values = ["count": "\(count)", "area": areaName, "destination": place, "numbers": numbers.map { "#\($0)" }.joined(separator: " ")]
                    warnings.append((key, { [replies] in replies.render(.clusterDestination, $0, values) }, numbers, count))
                }
            }
        }
        if let phone = report.parsed.companion.phone {
            let key = "companion:\(phone)"
            if try !warnedThisWeek(key) {
                let (count, numbers) = try store.reportsNaming(companionPhone: phone, since: now.addingTimeInterval(-30 * 86400))
                if count >= 2 {
                    let values = ["count": "\(count)", "phone": phone, "numbers": numbers.map { "#\($0)" }.joined(separator: " ")]
                    warnings.append((key, { [replies] in replies.render(.clusterCompanion, $0, values) }, numbers, count))
                }
            }
        }
        for warning in warnings {
            let latest = warning.numbers.map(String.init).joined(separator: ",")
            try store.recordGroupWarning(key: warning.key, at: now, reports: "\(warning.count) reports; latest \(latest)")
            let officers = try alerts.recipients([.province, .hotline], report: report, everyone: true)
            var urgent = report
            urgent.urgent = true
            try alerts.send(warning.text, to: officers, report: urgent, bundle: false)
            for number in warning.numbers {
                try event(number, "cluster", detail: "\(warning.key): \(warning.count) reports, latest \(warning.numbers.map(String.init).joined(separator: ", "))")
            }
        }
    }

    // MARK: - Who may act

    /// The case, when the actor may see and act on it; otherwise ``Refusal/notFound`` — for an officer outside their
    /// scope too (same answer as an unknown number, and the attempt is audited).
    func accessibleCase(_ number: Int, by actor: CaseActor, action: String) throws -> Report {
        guard let report = try store.report(number) else { throw Refusal.notFound }
        switch actor {
        case .reporter(let phone):
            guard try store.isReporter(phone, of: report) else { throw Refusal.notFound }
        case .officer(let officer):
            guard try mayAct(officer, on: report) else {
                try store.audit(actor: officer.id, role: "officer-sms", action: "refused_\(action)", target: "report \(number)",
                                detail: "outside the officer's communes and never alerted to them", at: now)
                throw Refusal.notFound
            }
        case .staff, .system:
            break // staff scope is checked by StaffReportAccess before the workflow is called
        }
        return report
    }

    /// An officer may act on the cases of the communes they cover, and on any case routed, escalated or given to them.
    func mayAct(_ officer: Officer, on report: Report) throws -> Bool {
        if officer.role == .hotline { return true }
        if report.assignedTo == officer.id { return true }
        if let area = report.areaCode.flatMap(deployment.gazetteer.area(code:)), officer.covers(area) { return true }
        if let province = report.provinceCode, officer.covers(province: province) { return true }
        return try store.wasAlerted(officer.phone, report: report.number!)
    }

    // MARK: - Actions

    /// A case someone holds is passed on or closed by them, or by hotline staff and admins — not by another officer.
    private func refuseIfHeldByAnother(_ report: Report, _ actor: CaseActor) throws {
        guard let holder = report.assignedTo, holder != actor.timelineName else { return }
        switch actor {
        case .staff(let staff) where staff.role != .officer: return
        case .system: return
        default: throw Refusal.alreadyTaken(by: holder, since: report.acknowledgedAt ?? report.updatedAt)
        }
    }

    /// Takes the case: the escalation stops, a reminder follows if the case then sees no update, "call now" ends.
    @discardableResult
    func acknowledge(_ number: Int, by actor: CaseActor) throws -> Report {
        var report = try accessibleCase(number, by: actor, action: "acknowledge")
        guard report.status != .closed else { throw Refusal.closed }
        if let holder = report.assignedTo {
            guard holder == actor.timelineName else {
                try event(number, "ack_refused", actor: actor, detail: "already taken by \(holder)")
                throw Refusal.alreadyTaken(by: holder, since: report.acknowledgedAt ?? report.updatedAt)
            }
            return report // taken by the same person again: nothing changes
        }
        report.assignedTo = actor.timelineName
        report.acknowledgedAt = now
        if report.status == .open { report.status = .acknowledged }
        report.callNow = false
        let policy = deployment.escalation.policy(province: report.provinceCode)
        report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: report.urgent).reminderAfter)
        try save(&report, "acknowledged", actor: actor)
        return report
    }

    /// Adds a note; a reporter's or officer's added details fill what the report was missing
    /// ("BS 1001 14 tuoi, di Trung Quoc"), and may make it urgent.
    @discardableResult
    func note(_ number: Int, text: String?, by actor: CaseActor) throws -> Report {
        if case .staff = actor, (text ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw Refusal.invalid("note: text is empty")
        }
        var report = try accessibleCase(number, by: actor, action: "note")
        let hadCommune = report.areaCode != nil
        if let text, report.kind != .unknown, !isStaff(actor) {
            let added = deployment.parser.parse("TRE " + text, receivedAt: now)
            report.parsed.fill(from: added)
            report.areaCode = report.parsed.origin.areaCode
            report.provinceCode = report.areaCode.flatMap(deployment.gazetteer.area(code:))?.provinceCode ?? report.provinceCode
        }
        try save(&report, "note", actor: actor, detail: text)
        if !hadCommune, report.areaCode != nil, report.status == .open {
            // The commune is known now: its officers are told.
            let routing = try firstLevel(report)
            try route(report, officers: routing.officers, detail: "commune added, \(routing.level.rawValue)")
        }
        if report.parsed.urgent, !report.urgent, report.status != .closed {
            try raiseUrgency(&report, reason: "added details")
            try store.update(report)
        }
        return report
    }

    /// The child is home; the case stays open for follow-up.
    @discardableResult
    func home(_ number: Int, note: String?, by actor: CaseActor) throws -> Report {
        var report = try accessibleCase(number, by: actor, action: "home")
        if report.status != .closed { report.status = .home }
        try save(&report, "home", actor: actor, detail: note)
        return report
    }

    /// Back to nobody's case, and to the next level now (the escalation service runs it at once).
    @discardableResult
    func pass(_ number: Int, note: String?, by actor: CaseActor) throws -> Report {
        var report = try accessibleCase(number, by: actor, action: "pass")
        guard report.status != .closed else { throw Refusal.closed }
        try refuseIfHeldByAnother(report, actor)
        report.assignedTo = nil
        report.acknowledgedAt = nil
        report.status = .open
        report.nextEscalationAt = now
        try save(&report, "passed", actor: actor, detail: note)
        return report
    }

    /// Closes the case with how it ended — an outcome code (``Outcome``), free text, or both; staff give at least
    /// one. Its reporter is told it was handled (by SMS, whatever channel they used).
    @discardableResult
    func close(_ number: Int, result: String?, outcome: Outcome? = nil, by actor: CaseActor) throws -> Report {
        if case .staff = actor, outcome == nil, (result ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw Refusal.invalid("result: say how the case ended")
        }
        var report = try accessibleCase(number, by: actor, action: "close")
        guard report.status != .closed else { throw Refusal.closed }
        try refuseIfHeldByAnother(report, actor)
        report.status = .closed
        report.closedAt = now
        report.result = result.flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        report.outcome = outcome
        report.nextEscalationAt = nil
        report.callNow = false
        if report.assignedTo == nil { report.assignedTo = actor.timelineName }
        // The timeline says the outcome too: `returned: em da ve nha`.
        let detail = outcome.map { code in report.result.map { "\(code.rawValue): \($0)" } ?? code.rawValue } ?? report.result
        try save(&report, "closed", actor: actor, detail: detail)
        if deployment.settings.notifyReporterOnClose, let reporter = report.reporter, !isSelf(actor, reporter) {
            try queue(replies.render(.reporterHandled, report.language, ["number": "\(number)"]),
                      to: ReplyAddress(phone: reporter, channel: deployment.smsChannel(replyingOn: report.channel)),
                      report: number, purpose: .reply)
        }
        return report
    }

    /// Gives the case to an officer of the roster, who is alerted by SMS.
    @discardableResult
    func reassign(_ number: Int, to officer: Officer, by actor: CaseActor) throws -> Report {
        var report = try accessibleCase(number, by: actor, action: "reassign")
        guard report.status != .closed else { throw Refusal.closed }
        guard try !unconfirmedOfficers().contains(officer.id) else {
            throw Refusal.invalid("officer: \(officer.id) has not confirmed their number (XACNHAN) and would get no alert")
        }
        report.assignedTo = officer.id
        report.acknowledgedAt = nil
        report.status = .acknowledged
        report.callNow = false
        let policy = deployment.escalation.policy(province: report.provinceCode)
        report.nextEscalationAt = now.addingTimeInterval(policy.track(urgent: report.urgent).reminderAfter)
        var urgent = report
        urgent.urgent = true
        try alerts.send(alerts.alertText(number: number, report: report.parsed), to: [officer], report: urgent)
        try save(&report, "reassigned", actor: actor, detail: officer.id)
        return report
    }

    /// An officer reads a case by SMS (`XEM 1001`): in the timeline and the audit log.
    func show(_ number: Int, by actor: CaseActor) throws -> Report {
        let report = try accessibleCase(number, by: actor, action: "show")
        try event(number, "viewed", actor: actor, detail: "by SMS")
        try store.audit(actor: actor.timelineName, role: "officer-sms", action: "show", target: "report \(number)", detail: nil, at: now)
        return report
    }

    // MARK: - Helpers

    /// The language answers to a number use: an officer's own, else Vietnamese.
    private func language(of phone: String) -> ParsedMessage.Language {
        deployment.roster.officer(phone: phone)?.language ?? .vi
    }

    private func isStaff(_ actor: CaseActor) -> Bool {
        if case .staff = actor { return true }
        return false
    }

    private func isSelf(_ actor: CaseActor, _ phone: String) -> Bool {
        switch actor {
        case .reporter(let sender): sender == phone
        case .officer(let officer): officer.phone == phone
        default: false
        }
    }

    /// Any change by a person restarts the quiet period before a reminder.
    private func touch(_ report: inout Report) {
        report.updatedAt = now
        report.reminders = 0
    }

    private func save(_ report: inout Report, _ kind: String, actor: CaseActor, detail: String? = nil) throws {
        touch(&report)
        try store.update(report)
        try event(report.number!, kind, actor: actor, detail: detail)
    }

    func event(_ number: Int, _ kind: String, actor: CaseActor = .system, detail: String? = nil) throws {
        try store.addEvent(number, at: now, kind: kind, actor: actor.timelineName, detail: detail)
    }

    /// Queues a reply from the catalogue to a person who wrote.
    func reply(_ key: ReplyCatalogue.Key, _ language: ParsedMessage.Language, _ values: [String: String] = [:], to address: ReplyAddress,
               report: Int? = nil, purpose: OutboundMessage.Purpose = .reply, force: Bool = false, maxSegments: Int = 1) throws {
        // Lists and case summaries may take up to three segments.
        let text = replies.render(key, language, values, septets: maxSegments > 1 ? 153 * maxSegments : 160)
        try queue(text, to: address, report: report, purpose: purpose, force: force)
    }

    /// Queues a text; nothing to a number that sent STOP, except the confirmation itself, and nothing the limits hold back.
    @discardableResult
    func queue(_ text: String, to address: ReplyAddress, report: Int?, purpose: OutboundMessage.Purpose, force: Bool = false) throws -> Bool {
        if !force, try store.isOptedOut(address.phone) { return false }
        let gate = self.gate ?? ReplyGate(limits: deployment.settings.limits)
        let officer = deployment.roster.officer(phone: address.phone) != nil
        guard let text = try gate.admit(text, to: address.phone, store: store, now: now, force: force, capped: !officer, slowDownText: {
            replies.render(.slowDown, language(of: address.phone))
        }) else { return false }
        var message = OutboundMessage(channel: address.channel, recipient: address.phone, body: text, purpose: purpose, reportNumber: report, at: now)
        try store.enqueue(&message)
        return true
    }
}

extension Deployment {
    /// The SMS channel that answers someone who wrote on `channel`: that channel when it sends SMS, otherwise (a USSD
    /// channel, a channel since disabled) the USSD channel's SMS channel or the outbound channel.
    func smsChannel(replyingOn channel: String) -> String {
        if settings.channels[channel] != nil { return channel }
        if let ussd = settings.ussdChannels[channel] { return ussd.smsChannel }
        return settings.outboundChannel
    }
}
