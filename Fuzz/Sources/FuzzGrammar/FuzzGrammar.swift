import FuzzSupport
import TiplineCore

/// One SMS text, as a villager's phone could send it, through the grammar of the sample deployment (its gazetteer from
/// `config/areas.csv` and `config/places.csv`, its vocabulary) and the text rules every reply and alert depends on.
///
/// Checks: the parse's stored JSON reads back as the same parse; the officer's alert built from a report is one GSM-7
/// SMS in both languages; cleaning an inbound text leaves no control character and is idempotent; folding to GSM-7 gives
/// GSM-7, and cutting it to a segment gives at most 160 septets.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let raw = FuzzInput(data, size).text
    let deployment = FuzzConfig.deployment

    // What the intake does: clean the provider's text, then parse it.
    let text = SMSText.cleanInbound(raw)
    require(SMSText.cleanInbound(text) == text, "cleanInbound is not idempotent on \(raw.debugDescription)")
    let parsed = deployment.parser.parse(text, receivedAt: FuzzConfig.receivedAt)
    FuzzCheck.storedJSON(parsed, "grammar")
    // The raw text too: the parser is documented as total, for any String.
    FuzzCheck.storedJSON(deployment.parser.parse(raw, receivedAt: FuzzConfig.receivedAt), "grammar (uncleaned)")

    if parsed.kind != .command { // every stored report can be routed: unreadable ones to the hotline
        for language in ParsedMessage.Language.allCases {
            let alert = OfficerAlert.text(number: 99_999, report: parsed, catalogue: deployment.replies, language: language)
            FuzzCheck.oneSMS(alert, "officer alert (\(language.rawValue))")
        }
        _ = deployment.gazetteer.provinceCode(of: parsed.origin)
    }

    // Text rules shared by the replies, the alerts and the USSD screens.
    let folded = TextFolding.gsm7(text)
    require(SMSText.gsm7Septets(folded) != nil, "TextFolding.gsm7 gave a non-GSM-7 text for \(raw.debugDescription)")
    FuzzCheck.oneSMS(SMSText.truncated(folded, toSeptets: 160), "truncated text")
    let sms = SMSText(text)
    require(sms.segments >= 1 && sms.units >= 0, "SMSText(\(raw.debugDescription)) counted \(sms.segments) segments")
    _ = TextFolding.matchKey(text)
    _ = PhoneNumber.normalise(text).map(PhoneNumber.mask)
    return 0
}
