import FuzzSupport
import TiplineCore

/// A whole USSD session, as an aggregator's `text` carries it: the answers joined by `*`, played one by one through the
/// sample deployment's menu (`config/ussd.yaml`, its gazetteer) from the first screen.
///
/// Checks: every screen shown — each step, the hints, the end screens, the confirmation, the status answers — is
/// GSM-7 and fits the 182 septets of a USSD screen; a finished report's stored JSON reads back as the same report.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let deployment = FuzzConfig.deployment
    let menu = deployment.ussd
    var (state, outcome) = menu.start()
    // The text as `AfricasTalkingUssd.decode` hands it on (cleaned of control characters), split as `UssdSessions`
    // splits a session it has not seen; at most as many answers as a real session could give before it times out.
    let answers = SMSText.cleanInbound(FuzzInput(data, size).text).components(separatedBy: "*").prefix(64)
    for (step, answer) in answers.enumerated() {
        guard case .next(let screen) = outcome else { break }
        FuzzCheck.ussdScreen(screen, "screen \(step) (\(state.step.rawValue))")
        (state, outcome) = menu.advance(state, input: answer)
    }
    let language = state.language
    switch outcome {
    case .next(let screen):
        FuzzCheck.ussdScreen(screen, "last screen (\(state.step.rawValue))")
    case .end(let screen):
        FuzzCheck.ussdScreen(screen, "end screen")
    case .submitTip, .submitAlert:
        let kind: ParsedMessage.Kind = outcome == .submitTip ? .tip : .alert
        let report = menu.report(from: state, kind: kind, at: FuzzConfig.receivedAt, timeZone: deployment.settings.timeZone)
        FuzzCheck.storedJSON(report, "USSD \(kind.rawValue)")
        let done = UssdMenu.fit(menu.catalogue.text(kind == .tip ? "tip_done" : "alert_done", language, ["number": "99999"]))
        FuzzCheck.ussdScreen(done, "done screen")
    case .lookUp(let number):
        require(number > 0, "USSD: a status look-up of report \(number)")
        let statuses: [ReplyCatalogue.Key] = [.statusOpen, .statusAcknowledged, .statusHome, .statusClosed, .statusPartial]
        for status in statuses.map({ deployment.replies.render($0, language) }) {
            let values = ["number": "\(number)", "status": status]
            FuzzCheck.ussdScreen(UssdMenu.fit(menu.catalogue.text("status_result", language, values)), "status_result")
        }
        FuzzCheck.ussdScreen(UssdMenu.fit(menu.catalogue.text("status_not_found", language, ["number": "\(number)"])), "status_not_found")
    }
    // A dropped session worth keeping becomes a partial report for staff.
    if state.isWorthKeeping {
        let kind: ParsedMessage.Kind = state.step.rawValue.hasPrefix("alert") ? .alert : .tip
        FuzzCheck.storedJSON(menu.report(from: state, kind: kind, at: FuzzConfig.receivedAt, timeZone: deployment.settings.timeZone),
                             "USSD partial")
    }
    let expired = UssdMenu.fit(menu.catalogue.text("expired", language))
    FuzzCheck.ussdScreen(expired, "expired")
    return 0
}
