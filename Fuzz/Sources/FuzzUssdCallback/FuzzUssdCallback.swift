import FuzzSupport
import TiplineCore
import TiplineProviders

/// A USSD channel as it ships: verified (the default), by a webhook token.
let ussd = AfricasTalkingUssd(verifyRequests: true, webhookToken: "fuzz-webhook-token", allowedSources: [])
/// A channel verified by its aggregator's addresses alone.
let bySource = AfricasTalkingUssd(verifyRequests: true, webhookToken: nil, allowedSources: ["198.51.100.7"])

/// Africa's Talking's USSD callback (`sessionId, serviceCode, phoneNumber, networkCode, text` as a form POST, the token
/// in `?token=`; first line: the query string, rest: the body) through both kinds of verification and the decoder.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let request = input.webhook(path: "/channels/ussd/ussd", contentType: "application/x-www-form-urlencoded")
    if (try? ussd.verify(request)) != nil {
        require(request.query.contains { $0.0 == "token" && $0.1 == "fuzz-webhook-token" },
                "USSD: a callback without the webhook token was accepted")
    }
    require((try? bySource.verify(request)) == nil, "USSD: a callback from an address not allowed was accepted")
    guard let callback = try? ussd.decode(request) else { return 0 }
    require(!callback.sessionID.isEmpty && !callback.phoneNumber.isEmpty, "USSD: a callback without session or phone accepted")
    require(!callback.text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" && $0 != "\r" },
            "USSD: a control character survived in the callback's text: \(callback.text.debugDescription)")
    require(callback.serviceCode?.isEmpty != true && callback.networkCode?.isEmpty != true,
            "USSD: an empty serviceCode or networkCode kept instead of nil")
    _ = PhoneNumber.normalise(callback.phoneNumber)
    return 0
}
