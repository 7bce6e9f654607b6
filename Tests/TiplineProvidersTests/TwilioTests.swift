import CurlHTTP
import Foundation
import Testing
@testable import TiplineProviders

@Suite("Twilio")
struct TwilioTests {
    // The examples of twilio-python's own test suite (tests/unit/test_request_validator.py).
    let params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+14158675309"), ("Digits", "1234"),
                  ("From", "+14158675309"), ("To", "+18005551212")]

    @Test("signature as twilio-python computes it")
    func signatureVectors() {
        #expect(TwilioSignature.compute(url: "https://mycompany.com/myapp.php?foo=1&bar=2", parameters: params, authToken: "12345")
                == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        #expect(TwilioSignature.compute(url: "https://mycompany.com:443/myapp.php?foo=1&bar=2", parameters: params, authToken: "12345")
                == "kvajT1Ptam85bY51eRf/AJRuM3w=")
    }

    @Test("either signature is accepted for the URL with or without its default port")
    func portVariants() {
        for url in ["https://mycompany.com/myapp.php?foo=1&bar=2", "https://mycompany.com:443/myapp.php?foo=1&bar=2"] {
            #expect(TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: params, authToken: "12345"))
            #expect(TwilioSignature.isValid("kvajT1Ptam85bY51eRf/AJRuM3w=", url: url, parameters: params, authToken: "12345"))
        }
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: "https://mycompany.com/myapp.php?foo=1&bar=3",
                                         parameters: params, authToken: "12345"))
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: "https://mycompany.com/myapp.php?foo=1&bar=2",
                                         parameters: params, authToken: "54321"))
    }

    @Test("repeated parameter names sort by value")
    func repeatedNames() {
        let a = TwilioSignature.compute(url: "https://x.org/a", parameters: [("M", "2"), ("M", "1")], authToken: "t")
        let b = TwilioSignature.compute(url: "https://x.org/a", parameters: [("M", "1"), ("M", "2")], authToken: "t")
        #expect(a == b)
    }

    let settings = ChannelSettings(name: "twilio", provider: .twilio, number: "+84900000002", baseURL: "https://api.twilio.com/",
                                   credentials: ["account_sid": "AC123", "auth_token": "tok"], publicURL: "https://tipline.example.org",
                                   verifyRequests: true)

    func webhook(_ form: [(String, String)], headers: [(name: String, value: String)] = []) -> WebhookRequest {
        WebhookRequest(method: "POST", pathAndQuery: "/channels/twilio/sms",
                       headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: Array(FormBody.encode(form).utf8))
    }

    @Test func verifiesWebhookSignature() throws {
        let provider = TwilioProvider(settings: settings)
        let form = [("MessageSid", "SM1"), ("From", "+84912345678"), ("To", "+84900000002"), ("Body", "TRE Lan 14t")]
        let signature = TwilioSignature.compute(url: "https://tipline.example.org/channels/twilio/sms", parameters: form, authToken: "tok")
        try provider.verify(webhook(form, headers: [("X-Twilio-Signature", signature)]))
        #expect(throws: WebhookError(.forbidden, "X-Twilio-Signature does not match")) {
            try provider.verify(webhook(form + [("Extra", "1")], headers: [("X-Twilio-Signature", signature)]))
        }
        #expect(throws: WebhookError(.forbidden, "missing X-Twilio-Signature")) { try provider.verify(webhook(form)) }
    }

    @Test func decodesInboundAndStatus() throws {
        let provider = TwilioProvider(settings: settings)
        let sms = try provider.decodeInbound(webhook([("MessageSid", "SM1"), ("From", "+84912345678"), ("To", "+84900000002"), ("Body", "TRE Lan")]))
        #expect(sms == InboundSMS(providerMessageID: "SM1", from: "+84912345678", to: "+84900000002", text: "TRE Lan"))
        let status = try provider.decodeDeliveryReport(webhook([("MessageSid", "SM9"), ("MessageStatus", "undelivered"), ("ErrorCode", "30003")]))
        #expect(status.outcome == .failed)
        #expect(status.error == "Twilio error 30003")
        #expect(try provider.decodeDeliveryReport(webhook([("MessageSid", "SM9"), ("MessageStatus", "read")])).outcome == .delivered)
        #expect(throws: WebhookError.self) { try provider.decodeDeliveryReport(webhook([("MessageSid", "SM9"), ("MessageStatus", "weird")])) }
    }

    @Test func buildsTheMessagesAPICall() {
        let provider = TwilioProvider(settings: settings)
        let request = provider.sendRequest(to: "+84912345678", text: "Da nhan bao cao so 1001")
        #expect(request.method == "POST")
        #expect(request.url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json")
        #expect(request.basicAuth?.user == "AC123")
        #expect(request.basicAuth?.password == "tok")
        let form = FormBody.parse(String(decoding: request.body ?? [], as: UTF8.self))
        #expect(form["To"] == "+84912345678")
        #expect(form["From"] == "+84900000002")
        #expect(form["Body"] == "Da nhan bao cao so 1001")
        #expect(form["StatusCallback"] == "https://tipline.example.org/channels/twilio/status")
    }

    @Test("answers: accepted with its sid, 5xx and 429 retry, opted-out (21610) and other 4xx stop")
    func interpretsAnswers() {
        let provider = TwilioProvider(settings: settings)
        func answer(_ status: Int, _ body: String) -> SendOutcome {
            provider.interpret(CurlResponse(status: status, headers: [], body: Array(body.utf8), totalTime: 0))
        }
        #expect(answer(201, #"{"sid": "SMabc", "status": "queued"}"#) == .accepted(providerMessageID: "SMabc"))
        #expect(answer(201, "garbage") == .retryable("HTTP 201 without a message sid"))
        guard case .retryable = answer(500, "oops") else { Issue.record("500 must retry"); return }
        guard case .retryable = answer(429, #"{"code": 20429, "message": "Too Many Requests"}"#) else { Issue.record("429 must retry"); return }
        guard case .permanent(let reason) = answer(400, #"{"code": 21610, "message": "Attempt to send to unsubscribed recipient"}"#) else {
            Issue.record("21610 is permanent"); return
        }
        #expect(reason.contains("21610"))
        guard case .permanent = answer(401, #"{"code": 20003, "message": "Authenticate"}"#) else { Issue.record("401 is permanent"); return }
    }
}

@Suite("Form bodies")
struct FormBodyTests {
    @Test func roundTrip() {
        let pairs = [("Body", "TRE Lũng Cú & đi HCM=?+"), ("From", "+84912345678")]
        #expect(FormBody.parse(FormBody.encode(pairs)).map { "\($0.0)=\($0.1)" } == pairs.map { "\($0.0)=\($0.1)" })
        #expect(FormBody.parse("Body=TRE+Lan%2C+14t")["Body"] == "TRE Lan, 14t")
    }
}
