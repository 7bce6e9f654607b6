import CurlHTTP
import FuzzSupport
import TiplineProviders

/// A channel as production runs one: signatures checked against the public address (the built-in simulator speaks the
/// same wire format, so this covers it too).
let provider = TwilioProvider(settings: ChannelSettings(
    name: "twilio", provider: .twilio, number: "+84900000002", baseURL: "https://api.twilio.com",
    credentials: ["account_sid": "AC00000000000000000000000000000000", "auth_token": "fuzz-auth-token"],
    publicURL: "https://tipline.example.org", verifyRequests: true))

/// Twilio's inbound-message and status webhooks (a form POST; first line: the query string, rest: the body) through
/// the signature check and both decoders, and the body as an answer of Twilio's Messages API.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let signature = [(name: "X-Twilio-Signature", value: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    let inbound = input.webhook(path: "/channels/twilio/sms", contentType: "application/x-www-form-urlencoded", headers: signature)
    // A forged signature must never pass: nobody knows the token but the test.
    require((try? provider.verify(inbound)) == nil, "Twilio: a request with a made-up signature was accepted")
    if let sms = try? provider.decodeInbound(inbound) { FuzzCheck.inbound(sms, "Twilio") }

    let status = input.webhook(path: "/channels/twilio/status", contentType: "application/x-www-form-urlencoded")
    if let report = try? provider.decodeDeliveryReport(status) { FuzzCheck.deliveryReport(report, "Twilio") }

    for code in [201, 400, 429, 500] {
        _ = provider.interpret(CurlResponse(status: code, headers: [], body: input.bytes, totalTime: 0))
    }
    return 0
}
