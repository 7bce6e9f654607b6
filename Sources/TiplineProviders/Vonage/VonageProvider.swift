import Crypto
import CurlHTTP
import Foundation

/// Vonage (Nexmo) SMS API: inbound by GET or POST, long messages in parts, signed with `sig` when configured.
public struct VonageProvider: SMSProvider {
    public let settings: ChannelSettings

    public init(settings: ChannelSettings) {
        self.settings = settings
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        try verifySource(request)
        guard settings.verifyRequests else { return }
        let params = try parameters(request)
        guard let sig = params["sig"], !sig.isEmpty else { throw WebhookError(.forbidden, "missing sig") }
        let secret = settings.credential("signature_secret")
        let method = settings.credentials["signature_method"] ?? "md5hash"
        guard VonageSignature.isValid(sig, parameters: params, secret: secret, method: method) else {
            throw WebhookError(.forbidden, "sig does not match")
        }
    }

    func parameters(_ request: WebhookRequest) throws(WebhookError) -> [(String, String)] {
        if request.method == "GET" { return request.query }
        if request.contentType.hasPrefix("application/json") {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
                throw WebhookError(.badRequest, "body is not a JSON object")
            }
            return object.map { ($0.key, "\($0.value)") }
        }
        return try request.formParameters()
    }

    public func decodeInbound(_ request: WebhookRequest) throws(WebhookError) -> InboundSMS {
        let params = try parameters(request)
        guard let id = params["messageId"], !id.isEmpty else { throw WebhookError(.badRequest, "missing messageId: not a Vonage inbound webhook") }
        guard let from = params["msisdn"], !from.isEmpty else { throw WebhookError(.badRequest, "missing msisdn") }
        var part: InboundSMS.Part?
        if params["concat"] == "true" {
            guard let reference = params["concat-ref"], let total = params["concat-total"].flatMap(Int.init),
                  let number = params["concat-part"].flatMap(Int.init), total >= 1, (1...total).contains(number) else {
                throw WebhookError(.badRequest, "concat=true without a valid concat-ref, concat-total and concat-part")
            }
            part = .init(reference: reference, total: total, number: number)
        }
        // Vonage sends the number as digits without '+' (found by fuzzing: anything else was taken as a sender).
        let digits = from.utf8.first == UInt8(ascii: "+") ? from.utf8.dropFirst() : from.utf8[...]
        guard !digits.isEmpty, digits.count <= 15, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw WebhookError(.badRequest, "msisdn: not a phone number (digits in international form)")
        }
        let from164 = "+" + String(decoding: digits, as: UTF8.self)
        return InboundSMS(providerMessageID: id, from: from164, to: params["to"], text: params["text"] ?? "", part: part)
    }

    public func decodeDeliveryReport(_ request: WebhookRequest) throws(WebhookError) -> DeliveryReport {
        let params = try parameters(request)
        guard let id = params["messageId"], !id.isEmpty else { throw WebhookError(.badRequest, "missing messageId") }
        guard let status = params["status"], !status.isEmpty else { throw WebhookError(.badRequest, "missing status") }
        let outcome: DeliveryReport.Outcome
        switch status {
        case "delivered": outcome = .delivered
        case "accepted", "buffered", "unknown": outcome = .pending
        case "expired", "failed", "rejected": outcome = .failed
        default: throw WebhookError(.badRequest, "unknown status '\(status)'")
        }
        let code = params["err-code"].flatMap { $0 == "0" || $0.isEmpty ? nil : "Vonage err-code \($0)" }
        return DeliveryReport(providerMessageID: id, outcome: outcome, status: status, error: code)
    }

    public func sendRequest(to recipient: String, text: String) -> CurlRequest {
        var form = [
            ("api_key", settings.credential("api_key")), ("api_secret", settings.credential("api_secret")),
            ("from", settings.number), ("to", recipient.hasPrefix("+") ? String(recipient.dropFirst()) : recipient),
            ("text", text), ("type", SMSTextType.of(text)), ("status-report-req", "1"),
        ]
        if let callback = statusCallbackURL { form.append(("callback", callback)) }
        return CurlRequest(
            method: "POST",
            url: settings.baseURL.trimmingSuffix("/") + "/sms/json",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Array(FormBody.encode(form).utf8)
        )
    }

    /// `messages[].status`: `0` accepted, `1` throttled (retry), others permanent except internal errors.
    public func interpret(_ response: CurlResponse) -> SendOutcome {
        guard (200..<300).contains(response.status) else {
            return outcome(forStatus: response.status, id: nil, detail: String(response.bodyText.prefix(200)))
        }
        guard let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any],
              let message = (json["messages"] as? [[String: Any]])?.first else {
            return .retryable("unreadable answer: \(response.bodyText.prefix(200))")
        }
        let status = message["status"] as? String ?? "\(message["status"] ?? "?")"
        let error = message["error-text"] as? String ?? ""
        switch status {
        case "0": return .accepted(providerMessageID: message["message-id"] as? String)
        case "1", "5": return .retryable("Vonage status \(status): \(error)")
        default: return .permanent("Vonage status \(status): \(error)")
        }
    }
}

enum SMSTextType {
    static func of(_ text: String) -> String {
        text.unicodeScalars.allSatisfy(\.isASCII) ? "text" : "unicode"
    }
}

/// Vonage signed webhooks: `md5hash` (MD5 of the sorted `&k=v` string plus the secret) or an HMAC of it.
public enum VonageSignature {
    public static func compute(parameters: [(String, String)], secret: String, method: String) -> String {
        let sorted = parameters.filter { $0.0 != "sig" }.sorted { $0.0 < $1.0 }
        var text = ""
        for (name, value) in sorted {
            let clean = value.replacingOccurrences(of: "&", with: "_").replacingOccurrences(of: "=", with: "_")
            text += "&\(name)=\(clean)"
        }
        let key = SymmetricKey(data: Data(secret.utf8))
        switch method {
        case "md5":
            return hex(HMAC<Insecure.MD5>.authenticationCode(for: Data(text.utf8), using: key))
        case "sha1":
            return hex(HMAC<Insecure.SHA1>.authenticationCode(for: Data(text.utf8), using: key))
        case "sha256":
            return hex(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key))
        case "sha512":
            return hex(HMAC<SHA512>.authenticationCode(for: Data(text.utf8), using: key))
        default:
            return hex(Insecure.MD5.hash(data: Data((text + secret).utf8)))
        }
    }

    public static func isValid(_ signature: String, parameters: [(String, String)], secret: String, method: String) -> Bool {
        guard !secret.isEmpty else { return false }
        let expected = compute(parameters: parameters, secret: secret, method: method)
        return constantTimeEquals(Array(expected.utf8), Array(signature.lowercased().utf8))
    }

    static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
