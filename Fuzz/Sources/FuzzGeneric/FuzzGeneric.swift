import CurlHTTP
import FuzzSupport
import TiplineProviders

let provider = GenericProvider(settings: ChannelSettings(
    name: "generic", provider: .generic, number: "+84900000004", baseURL: "http://127.0.0.1:9000/send",
    credentials: ["api_token": "fuzz-api-token", "webhook_token": "fuzz-webhook-token"],
    publicURL: "https://tipline.example.org", verifyRequests: true))

/// The generic JSON webhooks (`{"id", "from", "to", "text", "received_at"}` and `{"id", "status"}`; first line: the
/// query string, rest: the body) through the token check and both decoders, and the body as a gateway's answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let inbound = input.webhook(path: "/channels/generic/sms", contentType: "application/json")
    if (try? provider.verify(inbound)) != nil {
        require(inbound.query.contains { $0.0 == "token" && $0.1 == "fuzz-webhook-token" },
                "generic: a request without the webhook token was accepted")
    }
    if let sms = try? provider.decodeInbound(inbound) { FuzzCheck.inbound(sms, "generic") }

    let status = input.webhook(path: "/channels/generic/status", contentType: "application/json")
    if let report = try? provider.decodeDeliveryReport(status) { FuzzCheck.deliveryReport(report, "generic") }

    for code in [200, 422, 503] {
        _ = provider.interpret(CurlResponse(status: code, headers: [], body: input.bytes, totalTime: 0))
    }
    return 0
}
