import CurlHTTP
import Foundation

/// Africa's Talking SMS: form webhooks with a per-channel token, and the `version1/messaging` API.
public struct AfricasTalkingProvider: SMSProvider {
    public let settings: ChannelSettings

    public init(settings: ChannelSettings) {
        self.settings = settings
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        try verifySource(request)
        try verifyToken(request)
    }

    public func decodeInbound(_ request: WebhookRequest) throws(WebhookError) -> InboundSMS {
        let form = try request.formParameters()
        guard let id = form["id"], !id.isEmpty else { throw WebhookError(.badRequest, "missing id: not an Africa's Talking SMS webhook") }
        guard let from = form["from"], !from.isEmpty else { throw WebhookError(.badRequest, "missing from") }
        guard let text = form["text"] else { throw WebhookError(.badRequest, "missing text") }
        return InboundSMS(providerMessageID: id, from: from, to: form["to"], text: text, receivedAt: form["date"].flatMap(Self.parseDate))
    }

    /// `2017-05-03T06:04:45Z` or `2017-05-03 06:04:45` (UTC).
    static func parseDate(_ text: String) -> Date? {
        // Foundation's formatter traps on some non-ASCII input (found by fuzzing: a combining mark in the time).
        guard isPlainTimestamp(text) else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }

    public func decodeDeliveryReport(_ request: WebhookRequest) throws(WebhookError) -> DeliveryReport {
        let form = try request.formParameters()
        guard let id = form["id"], !id.isEmpty else { throw WebhookError(.badRequest, "missing id") }
        guard let status = form["status"], !status.isEmpty else { throw WebhookError(.badRequest, "missing status") }
        let outcome: DeliveryReport.Outcome
        switch status {
        case "Success": outcome = .delivered
        case "Sent": outcome = .sent
        case "Submitted", "Buffered": outcome = .pending
        case "Rejected", "Failed", "Expired": outcome = .failed
        default: throw WebhookError(.badRequest, "unknown status '\(status)'")
        }
        return DeliveryReport(providerMessageID: id, outcome: outcome, status: status, error: form["failureReason"])
    }

    public func sendRequest(to recipient: String, text: String) -> CurlRequest {
        var form = [("username", settings.credential("username")), ("to", recipient), ("message", text)]
        if !settings.number.isEmpty { form.append(("from", settings.number)) }
        return CurlRequest(
            method: "POST",
            url: settings.baseURL.trimmingSuffix("/") + "/version1/messaging",
            headers: [("apiKey", settings.credential("api_key")), ("Accept", "application/json"),
                      ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array(FormBody.encode(form).utf8)
        )
    }

    /// Recipient status codes: 100–102 accepted; 401–409 permanent; 500–501 retry.
    public func interpret(_ response: CurlResponse) -> SendOutcome {
        guard (200..<300).contains(response.status) else {
            return outcome(forStatus: response.status, id: nil, detail: String(response.bodyText.prefix(200)))
        }
        guard let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
              let data = json["SMSMessageData"] as? [String: Any],
              let recipient = (data["Recipients"] as? [[String: Any]])?.first else {
            return .retryable("unreadable answer: \(response.bodyText.prefix(200))")
        }
        let code = recipient["statusCode"] as? Int ?? 0
        let status = recipient["status"] as? String ?? "?"
        switch code {
        case 100, 101, 102: return .accepted(providerMessageID: recipient["messageId"] as? String)
        case 500, 501, 502: return .retryable("\(status) (\(code))")
        default: return .permanent("\(status) (\(code))")
        }
    }
}
