import CurlHTTP
import FuzzSupport
import TiplineProviders

let provider = VonageProvider(settings: ChannelSettings(
    name: "vonage", provider: .vonage, number: "84900000003", baseURL: "https://rest.nexmo.com",
    credentials: ["api_key": "fuzz-key", "api_secret": "fuzz-secret", "signature_secret": "fuzz-signature-secret"],
    publicURL: "https://tipline.example.org", verifyRequests: true))

/// Vonage's inbound and delivery-receipt webhooks in each of its forms — GET with the query string (the first line),
/// POST form and POST JSON (the rest) — including the `concat`, `concat-ref`, `concat-total`, `concat-part` fields of a
/// long message, through the `sig` check and both decoders; and the body as an answer of its SMS API.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let requests = [
        input.webhook(method: "GET", path: "/channels/vonage/sms", contentType: nil),
        input.webhook(path: "/channels/vonage/sms", contentType: "application/x-www-form-urlencoded"),
        input.webhook(path: "/channels/vonage/sms", contentType: "application/json"),
    ]
    for request in requests {
        _ = try? provider.verify(request)
        if let sms = try? provider.decodeInbound(request) {
            FuzzCheck.inbound(sms, "Vonage \(request.method) \(request.contentType)")
            require(sms.from.hasPrefix("+"), "Vonage: a sender not in E.164 form: \(sms.from.debugDescription)")
        }
        if let report = try? provider.decodeDeliveryReport(request) { FuzzCheck.deliveryReport(report, "Vonage") }
    }
    for code in [200, 429, 500] {
        _ = provider.interpret(CurlResponse(status: code, headers: [], body: input.bytes, totalTime: 0))
    }
    return 0
}
