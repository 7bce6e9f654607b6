import Foundation
import Logging
import TiplineCore
import TiplineStore

/// USSD sessions (Africa's Talking protocol): state kept on the server by `sessionId`, so a replayed or duplicated
/// request gets the same answer, and a `*` inside a typed answer cannot break the flow. A finished session stores
/// the same report as the SMS path (same routing and alerts, channel recorded as USSD) and confirms it by SMS.
public struct UssdSessions: Sendable {
    let database: AppDatabase
    let deployment: DeploymentHolder
    let clock: @Sendable () -> Date
    let onQueued: @Sendable () -> Void
    let logger: Logger

    struct Request: Sendable {
        var sessionID: String
        var serviceCode: String
        var phone: String
        var text: String
    }

    /// The `CON …` or `END …` answer to one request.
    func answer(_ request: Request, channel: Settings.UssdChannelSettings) async throws -> String {
        let current = deployment.current
        let now = clock()
        let phone = PhoneNumber.normalise(request.phone) ?? request.phone
        let (response, queued) = try await database.write { store -> (String, Bool) in
            var session = try store.ussdSession(id: request.sessionID)
            if let existing = session {
                if let previous = existing.responses[request.text] { return (previous, false) }
                if existing.finished || now.timeIntervalSince(existing.updatedAt) > channel.sessionTimeout {
                    return ("END " + UssdMenu.fit(current.ussd.catalogue.text("expired", existing.state.language)), false)
                }
            }
            let menu = current.ussd
            var state: UssdState
            var lastText: String
            var isNew = false
            if let existing = session {
                state = existing.state
                lastText = existing.lastText
            } else {
                (state, _) = menu.start()
                lastText = ""
                isNew = true
                session = UssdSessionRecord(id: request.sessionID, channel: channel.name, phone: phone, state: state, lastText: "",
                                  responses: ["": "CON " + menu.screen(state)], finished: false, reportNumber: nil, createdAt: now, updatedAt: now)
                if request.text.isEmpty {
                    try store.save(session!)
                    return (session!.responses[""]!, false)
                }
            }
            // The new answer is what follows the text already handled; a first request with text replays it part by part.
            let inputs: [String]
            if isNew {
                inputs = request.text.components(separatedBy: "*") // a session never seen: replay its answers
            } else if lastText.isEmpty {
                inputs = [request.text]
            } else if request.text.hasPrefix(lastText + "*") {
                inputs = [String(request.text.dropFirst(lastText.count + 1))]
            } else {
                inputs = [request.text.components(separatedBy: "*").last ?? ""]
            }
            var response = ""
            var queued = false
            for input in inputs {
                let (next, outcome) = menu.advance(state, input: input)
                state = next
                switch outcome {
                case .next(let screen):
                    response = "CON " + screen
                case .end(let text):
                    response = "END " + text
                    session!.finished = true
                case .submitTip, .submitAlert:
                    let kind: ParsedMessage.Kind = outcome == .submitTip ? .tip : .alert
                    let parsed = menu.report(from: state, kind: kind, at: now, timeZone: current.settings.timeZone)
                    let number = try submit(store, parsed: parsed, phone: phone, channel: channel, inputs: request.text, status: .open,
                                            deployment: current, now: now)
                    session!.reportNumber = number
                    session!.finished = true
                    queued = true
                    let key = kind == .tip ? "tip_done" : "alert_done"
                    response = "END " + UssdMenu.fit(menu.catalogue.text(key, state.language, ["number": "\(number)"]))
                case .lookUp(let number):
                    if let report = try store.report(number), try store.isReporter(phone, of: report) {
                        let status = current.replies.render(ReplyCatalogue.Key(rawValue: "status_\(report.status.rawValue)") ?? .statusOpen, state.language)
                        response = "END " + UssdMenu.fit(menu.catalogue.text("status_result", state.language, ["number": "\(number)", "status": status]))
                    } else {
                        response = "END " + UssdMenu.fit(menu.catalogue.text("status_not_found", state.language, ["number": "\(number)"]))
                    }
                    session!.finished = true
                }
                if session!.finished { break }
            }
            session!.state = state
            session!.lastText = request.text
            session!.responses[request.text] = response
            session!.updatedAt = now
            try store.save(session!)
            return (response, queued)
        }
        if queued { onQueued() }
        return response
    }

    /// Stores the report exactly as the SMS path does, and queues the confirmation SMS through the SMS channel.
    func submit(_ store: CaseStore, parsed: ParsedMessage, phone: String, channel: Settings.UssdChannelSettings, inputs: String,
                status: Report.Status, deployment: Deployment, now: Date) throws -> Int {
        let area = parsed.origin.areaCode.flatMap(deployment.gazetteer.area(code:))
        let report = Report(parsed: parsed, status: status, channel: channel.name, via: "ussd", reporter: phone,
                            text: "USSD " + channel.serviceCode + " " + inputs, receivedAt: now, provinceCode: area?.provinceCode)
        return try CaseWorkflow(store: store, deployment: deployment, now: now)
            .open(report, status: status, replyTo: ReplyAddress(phone: phone, channel: channel.smsChannel))
    }

    /// Sessions dropped before the end: those with a commune and an age become partial reports for staff review
    /// (not alerted), so a dropped call loses nothing the reporter gave.
    func keepAbandoned(channels: [String: Settings.UssdChannelSettings]) async throws -> Int {
        let current = deployment.current
        let now = clock()
        let count = try await database.write { store -> Int in
            var kept = 0
            for var session in try store.unfinishedUssdSessions() {
                guard let channel = channels[session.channel], now.timeIntervalSince(session.updatedAt) > channel.sessionTimeout else { continue }
                if session.state.isWorthKeeping {
                    let kind: ParsedMessage.Kind = session.state.step.rawValue.hasPrefix("alert") ? .alert : .tip
                    let parsed = current.ussd.report(from: session.state, kind: kind, at: now, timeZone: current.settings.timeZone)
                    session.reportNumber = try submit(store, parsed: parsed, phone: session.phone, channel: channel, inputs: session.lastText,
                                                      status: .partial, deployment: current, now: now)
                    kept += 1
                }
                session.finished = true
                try store.save(session)
            }
            return kept
        }
        if count > 0 { logger.notice("abandoned USSD sessions kept as partial reports", metadata: ["count": "\(count)"]) }
        return count
    }
}
