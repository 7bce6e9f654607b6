import CurlHTTP
import FuzzSupport
import TiplineProviders

let provider = AfricasTalkingProvider(settings: ChannelSettings(
    name: "africastalking", provider: .africastalking, number: "12345", baseURL: "https://api.africastalking.com",
    credentials: ["username": "sandbox", "api_key": "fuzz-api-key", "webhook_token": "fuzz-webhook-token"],
    publicURL: "https://tipline.example.org", verifyRequests: true))

/// Africa's Talking's SMS webhooks (a form POST, the token in `?token=`; first line: the query string, rest: the body)
/// through the token check and both decoders, and the body as an answer of its messaging API.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let inbound = input.webhook(path: "/channels/africastalking/sms", contentType: "application/x-www-form-urlencoded")
    if (try? provider.verify(inbound)) != nil {
        require(inbound.query.contains { $0.0 == "token" && $0.1 == "fuzz-webhook-token" },
                "Africa's Talking: a request without the webhook token was accepted")
    }
    if let sms = try? provider.decodeInbound(inbound) { FuzzCheck.inbound(sms, "Africa's Talking") }

    let status = input.webhook(path: "/channels/africastalking/status", contentType: "application/x-www-form-urlencoded")
    if let report = try? provider.decodeDeliveryReport(status) { FuzzCheck.deliveryReport(report, "Africa's Talking") }

    for code in [201, 401, 500] {
        _ = provider.interpret(CurlResponse(status: code, headers: [], body: input.bytes, totalTime: 0))
    }
    return 0
}
