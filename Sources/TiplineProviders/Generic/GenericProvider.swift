import CurlHTTP
import Foundation

/// A plain JSON shape for gateways without a provider of their own (an Android SMS gateway app, an aggregator's relay).
///
/// Inbound `{"id", "from", "to", "text", "received_at"}`; status `{"id", "status"}`; send: JSON POST to `base_url`
/// with a bearer token, answered with `{"id": "…"}`.
public struct GenericProvider: SMSProvider {
    public let settings: ChannelSettings

    public init(settings: ChannelSettings) {
        self.settings = settings
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        try verifySource(request)
        try verifyToken(request)
    }

    func object(_ request: WebhookRequest) throws(WebhookError) -> [String: Any] {
        guard request.contentType.hasPrefix("application/json") else {
            throw WebhookError(.badRequest, "expected application/json, got '\(request.contentType.isEmpty ? "none" : request.contentType)'")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            throw WebhookError(.badRequest, "body is not a JSON object")
        }
        return object
    }

    public func decodeInbound(_ request: WebhookRequest) throws(WebhookError) -> InboundSMS {
        let json = try object(request)
        guard let id = json["id"].map({ "\($0)" }), !id.isEmpty else { throw WebhookError(.badRequest, "missing id") }
        guard let from = json["from"] as? String, !from.isEmpty else { throw WebhookError(.badRequest, "missing from") }
        guard let text = json["text"] as? String else { throw WebhookError(.badRequest, "missing text") }
        let received = (json["received_at"] as? String).flatMap { isPlainTimestamp($0) ? ISO8601DateFormatter().date(from: $0) : nil }
        return InboundSMS(providerMessageID: id, from: from, to: json["to"] as? String, text: text, receivedAt: received)
    }

    public func decodeDeliveryReport(_ request: WebhookRequest) throws(WebhookError) -> DeliveryReport {
        let json = try object(request)
        guard let id = json["id"].map({ "\($0)" }), !id.isEmpty else { throw WebhookError(.badRequest, "missing id") }
        guard let status = json["status"] as? String else { throw WebhookError(.badRequest, "missing status") }
        let outcome: DeliveryReport.Outcome
        switch status.lowercased() {
        case "delivered": outcome = .delivered
        case "sent": outcome = .sent
        case "queued", "pending", "accepted": outcome = .pending
        case "failed", "undelivered", "rejected", "expired": outcome = .failed
        default: throw WebhookError(.badRequest, "unknown status '\(status)'")
        }
        return DeliveryReport(providerMessageID: id, outcome: outcome, status: status, error: json["error"] as? String)
    }

    public func sendRequest(to recipient: String, text: String) -> CurlRequest {
        var object: [String: String] = ["to": recipient, "from": settings.number, "text": text]
        if let callback = statusCallbackURL { object["status_url"] = callback }
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return CurlRequest(
            method: "POST", url: settings.baseURL,
            headers: [("Content-Type", "application/json"), ("Accept", "application/json"),
                      ("Authorization", "Bearer \(settings.credential("api_token"))")],
            body: Array(body)
        )
    }

    public func interpret(_ response: CurlResponse) -> SendOutcome {
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let id = json?["id"].map { "\($0)" }
        if (200..<300).contains(response.status), id == nil {
            return .retryable("HTTP \(response.status) without an id")
        }
        return outcome(forStatus: response.status, id: id, detail: String(response.bodyText.prefix(200)))
    }
}
