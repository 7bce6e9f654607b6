import Crypto
import CurlHTTP
import Foundation

/// Twilio's Programmable Messaging: form webhooks signed with `X-Twilio-Signature`, and the Messages API.
///
/// The built-in simulator speaks the same format, so the sample deployment works with no account.
public struct TwilioProvider: SMSProvider {
    public let settings: ChannelSettings

    public init(settings: ChannelSettings) {
        self.settings = settings
    }

    public var inboundAnswer: (contentType: String, body: String) {
        ("text/xml; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>")
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        try verifySource(request)
        guard settings.verifyRequests else { return }
        guard let signature = request.header("x-twilio-signature"), !signature.isEmpty else {
            throw WebhookError(.forbidden, "missing X-Twilio-Signature")
        }
        guard let base = settings.publicURL else {
            throw WebhookError(.forbidden, "channel has no public_url to check signatures against")
        }
        let url = base.trimmingSuffix("/") + request.pathAndQuery
        let params = request.method == "POST" ? try request.formParameters() : []
        guard TwilioSignature.isValid(signature, url: url, parameters: params, authToken: settings.credential("auth_token")) else {
            throw WebhookError(.forbidden, "X-Twilio-Signature does not match")
        }
    }

    public func decodeInbound(_ request: WebhookRequest) throws(WebhookError) -> InboundSMS {
        let form = try request.formParameters()
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else {
            throw WebhookError(.badRequest, "missing MessageSid: not a Twilio message webhook")
        }
        guard let from = form["From"], !from.isEmpty else {
            throw WebhookError(.badRequest, "missing From")
        }
        guard let body = form["Body"] else {
            throw WebhookError(.badRequest, "missing Body")
        }
        return InboundSMS(providerMessageID: sid, from: from, to: form["To"], text: body)
    }

    public func decodeDeliveryReport(_ request: WebhookRequest) throws(WebhookError) -> DeliveryReport {
        let form = try request.formParameters()
        guard let sid = form["MessageSid"] ?? form["SmsSid"], !sid.isEmpty else {
            throw WebhookError(.badRequest, "missing MessageSid")
        }
        guard let status = form["MessageStatus"] ?? form["SmsStatus"], !status.isEmpty else {
            throw WebhookError(.badRequest, "missing MessageStatus")
        }
        let outcome: DeliveryReport.Outcome
        switch status.lowercased() {
        case "delivered", "read": outcome = .delivered
        case "sent": outcome = .sent
        case "undelivered", "failed", "canceled": outcome = .failed
        case "queued", "accepted", "sending", "scheduled", "receiving", "received": outcome = .pending
        default: throw WebhookError(.badRequest, "unknown MessageStatus '\(status)'")
        }
        let code = form["ErrorCode"].flatMap { $0.isEmpty ? nil : "Twilio error \($0)" }
        return DeliveryReport(providerMessageID: sid, outcome: outcome, status: status, error: code)
    }

    public func sendRequest(to recipient: String, text: String) -> CurlRequest {
        let sid = settings.credential("account_sid")
        var form = [("To", recipient)]
        if settings.number.hasPrefix("MG") {
            form.append(("MessagingServiceSid", settings.number))
        } else {
            form.append(("From", settings.number))
        }
        form.append(("Body", text))
        if let callback = statusCallbackURL { form.append(("StatusCallback", callback)) }
        // An API key (SK…) authenticates in place of the account's own credentials.
        let user = settings.credentials["api_key_sid"] ?? sid
        let password = settings.credentials["api_key_secret"] ?? settings.credential("auth_token")
        return CurlRequest(
            method: "POST",
            url: settings.baseURL.trimmingSuffix("/") + "/2010-04-01/Accounts/\(FormBody.escape(sid))/Messages.json",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(FormBody.encode(form).utf8),
            basicAuth: (user, password)
        )
    }

    /// Twilio error codes that will not get better with a retry.
    static let permanentCodes: Set<Int> = [21211, 21408, 21610, 21612, 21614, 30003, 30004, 30005, 30006, 30007]

    public func interpret(_ response: CurlResponse) -> SendOutcome {
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let code = json?["code"] as? Int
        let message = json?["message"] as? String ?? String(response.bodyText.prefix(200))
        if (200..<300).contains(response.status) {
            guard let sid = json?["sid"] as? String, !sid.isEmpty else {
                return .retryable("HTTP \(response.status) without a message sid")
            }
            return .accepted(providerMessageID: sid)
        }
        if let code, TwilioProvider.permanentCodes.contains(code) {
            return .permanent("Twilio error \(code): \(message)")
        }
        return outcome(forStatus: response.status, id: nil, detail: code.map { "Twilio error \($0): \(message)" } ?? message)
    }
}

/// Twilio's request signature: HMAC-SHA1 over the full URL and the form parameters sorted by name (then value).
public enum TwilioSignature {
    public static func compute(url: String, parameters: [(String, String)], authToken: String) -> String {
        var data = url
        for (name, value) in parameters.sorted(by: { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }) {
            data += name + value
        }
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: Data(data.utf8), using: SymmetricKey(data: Data(authToken.utf8)))
        return Data(mac).base64EncodedString()
    }

    /// Accepts the URL as given, with its default port added, and with it removed — Twilio may sign either.
    public static func isValid(_ signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        guard !authToken.isEmpty else { return false }
        var valid = false
        for candidate in urlVariants(url) {
            let expected = compute(url: candidate, parameters: parameters, authToken: authToken)
            // Check every variant, so the time taken does not depend on which matched.
            valid = constantTimeEquals(Array(expected.utf8), Array(signature.utf8)) || valid
        }
        return valid
    }

    static func urlVariants(_ url: String) -> [String] {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else { return [url] }
        let defaultPort = scheme == "https" ? 443 : scheme == "http" ? 80 : nil
        guard let defaultPort else { return [url] }
        var variants = [url]
        if components.port == defaultPort {
            components.port = nil
        } else if components.port == nil {
            components.port = defaultPort
        }
        if let other = components.string, other != url { variants.append(other) }
        return variants
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
