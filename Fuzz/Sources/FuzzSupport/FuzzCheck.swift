import Foundation
import TiplineCore
import TiplineProviders

/// Stops the process, naming what broke, when `condition` is false: libFuzzer reports it as a crash and keeps the input.
///
/// A `fatalError`, not a `precondition`: the targets are built with `-c release`, where a failed `precondition` traps
/// without its message.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
                    file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError(message(), file: file, line: line) }
}

/// What every input must leave true, whatever its bytes: a broken promise stops the process through ``require(_:_:file:line:)``.
public enum FuzzCheck {
    /// An inbound SMS a provider adapter accepted: an id and a sender, no control character but tab and line breaks
    /// (a NUL would cut the text in the database), and a message part that is one of its message's parts.
    public static func inbound(_ sms: InboundSMS, _ provider: String) {
        require(!sms.providerMessageID.isEmpty, "\(provider): accepted an inbound SMS without a message id")
        require(!sms.from.isEmpty, "\(provider): accepted an inbound SMS without a sender")
        require(!sms.text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" },
                "\(provider): a control character survived SMSText.cleanInbound: \(sms.text.debugDescription)")
        if let part = sms.part {
            require(part.total >= 1 && (1...part.total).contains(part.number),
                    "\(provider): message part \(part.number) of \(part.total) accepted")
        }
    }

    /// A delivery report a provider adapter accepted names the message it is about.
    public static func deliveryReport(_ report: DeliveryReport, _ provider: String) {
        require(!report.providerMessageID.isEmpty, "\(provider): accepted a delivery report without a message id")
    }

    /// A USSD screen: GSM-7, and at most the 182 septets a phone shows.
    public static func ussdScreen(_ screen: String, _ what: String) {
        guard let septets = SMSText.gsm7Septets(screen) else {
            fatalError("\(what): a USSD screen that is not GSM-7: \(screen.debugDescription)")
        }
        require(septets <= UssdMenu.maxScreen,
                "\(what): a USSD screen of \(septets) septets (at most \(UssdMenu.maxScreen)): \(screen.debugDescription)")
    }

    /// An SMS tipline sends: GSM-7 and one segment (160 septets).
    public static func oneSMS(_ text: String, _ what: String) {
        guard let septets = SMSText.gsm7Septets(text) else {
            fatalError("\(what): an SMS that is not GSM-7: \(text.debugDescription)")
        }
        require(septets <= 160, "\(what): an SMS of \(septets) septets (one segment is 160): \(text.debugDescription)")
    }

    /// The JSON a report is stored with reads back as the same parse.
    public static func storedJSON(_ parsed: ParsedMessage, _ what: String) {
        let json = parsed.jsonString
        let decoded = try? JSONDecoder().decode(ParsedMessage.self, from: Data(json.utf8))
        require(decoded == parsed, "\(what): the stored JSON does not read back as the same parse: \(json)")
    }
}
