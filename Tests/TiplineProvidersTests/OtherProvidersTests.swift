import CurlHTTP
import Foundation
import Testing
@testable import TiplineProviders

func response(_ status: Int, _ body: String) -> CurlResponse {
    CurlResponse(status: status, headers: [], body: Array(body.utf8), totalTime: 0)
}

func formWebhook(_ form: [(String, String)], path: String = "/channels/x/sms", method: String = "POST") -> WebhookRequest {
    if method == "GET" {
        return WebhookRequest(method: "GET", pathAndQuery: path + "?" + FormBody.encode(form), headers: [], body: [])
    }
    return WebhookRequest(method: method, pathAndQuery: path, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                          body: Array(FormBody.encode(form).utf8))
}

@Suite("Africa's Talking")
struct AfricasTalkingTests {
    let provider = AfricasTalkingProvider(settings: ChannelSettings(
        name: "at", provider: .africastalking, number: "12345", baseURL: "https://api.africastalking.com",
        credentials: ["username": "sandbox", "api_key": "key", "webhook_token": "s3cret"], verifyRequests: true,
        allowedSources: ["127.0.0.1"]))

    @Test func decodesInboundWithBothDateForms() throws {
        let sms = try provider.decodeInbound(formWebhook([("id", "ATXid_1"), ("from", "+84912345678"), ("to", "12345"), ("text", "TRE Lan"),
                                                         ("date", "2017-05-03T06:04:45Z"), ("linkId", "x"), ("networkCode", "45204")]))
        #expect(sms.providerMessageID == "ATXid_1")
        #expect(sms.receivedAt == Date(timeIntervalSince1970: 1_493_791_485))
        let other = try provider.decodeInbound(formWebhook([("id", "2"), ("from", "+84912345678"), ("text", "x"), ("date", "2017-05-03 06:04:45")]))
        #expect(other.receivedAt == sms.receivedAt)
    }

    @Test("a date with a combining mark (found by fuzzing: Foundation's formatter trapped on it) is ignored, not fatal")
    func oddDate() throws {
        let sms = try provider.decodeInbound(formWebhook([("id", "3"), ("from", "+84912345678"), ("text", "x"), ("date", "2017-05-03 7\u{361}H06:04:45")]))
        #expect(sms.receivedAt == nil)
    }

    @Test("token and source address are checked")
    func verification() throws {
        var request = formWebhook([("id", "1")], path: "/channels/at/sms?token=s3cret")
        request.sourceAddress = "127.0.0.1"
        try provider.verify(request)
        request.sourceAddress = "10.1.2.3"
        #expect(throws: WebhookError.self) { try provider.verify(request) }
        var wrong = formWebhook([("id", "1")], path: "/channels/at/sms?token=nope")
        wrong.sourceAddress = "127.0.0.1"
        #expect(throws: WebhookError(.forbidden, "missing or wrong webhook token")) { try provider.verify(wrong) }
    }

    @Test func deliveryReports() throws {
        #expect(try provider.decodeDeliveryReport(formWebhook([("id", "m1"), ("status", "Success")])).outcome == .delivered)
        #expect(try provider.decodeDeliveryReport(formWebhook([("id", "m1"), ("status", "Buffered")])).outcome == .pending)
        let failed = try provider.decodeDeliveryReport(formWebhook([("id", "m1"), ("status", "Failed"), ("failureReason", "AbsentSubscriber")]))
        #expect(failed.outcome == .failed)
        #expect(failed.error == "AbsentSubscriber")
    }

    @Test func sendAndAnswers() {
        let request = provider.sendRequest(to: "+84912345678", text: "hello")
        #expect(request.url == "https://api.africastalking.com/version1/messaging")
        #expect(request.headers.contains { $0.name == "apiKey" && $0.value == "key" })
        #expect(request.headers.contains { $0.name == "Accept" && $0.value == "application/json" })
        let form = FormBody.parse(String(decoding: request.body ?? [], as: UTF8.self))
        #expect(form["username"] == "sandbox" && form["to"] == "+84912345678" && form["message"] == "hello" && form["from"] == "12345")
        let ok = #"{"SMSMessageData": {"Message": "Sent to 1/1", "Recipients": [{"statusCode": 101, "number": "+84912345678", "status": "Success", "cost": "KES 0.8", "messageId": "ATPid_1"}]}}"#
        #expect(provider.interpret(response(201, ok)) == .accepted(providerMessageID: "ATPid_1"))
        let invalid = #"{"SMSMessageData": {"Recipients": [{"statusCode": 403, "status": "InvalidPhoneNumber"}]}}"#
        #expect(provider.interpret(response(201, invalid)) == .permanent("InvalidPhoneNumber (403)"))
        let busy = #"{"SMSMessageData": {"Recipients": [{"statusCode": 500, "status": "InternalServerError"}]}}"#
        #expect(provider.interpret(response(201, busy)) == .retryable("InternalServerError (500)"))
    }
}

@Suite("Vonage")
struct VonageTests {
    let provider = VonageProvider(settings: ChannelSettings(
        name: "vonage", provider: .vonage, number: "84900000003", baseURL: "https://rest.nexmo.com",
        credentials: ["api_key": "k", "api_secret": "s", "signature_secret": "sigsecret"], publicURL: "https://tipline.example.org",
        verifyRequests: true))

    @Test("an msisdn that is not digits is refused (found by fuzzing: it was taken as a sender)")
    func msisdnDigits() throws {
        for bad in ["+\u{34B}12l600006", "abc", "", "8491234567890123456"] {
            #expect(throws: WebhookError.self, "\(bad)") {
                try provider.decodeInbound(formWebhook([("msisdn", bad), ("messageId", "0A1"), ("text", "x")], method: "GET"))
            }
        }
        #expect(try provider.decodeInbound(formWebhook([("msisdn", "+84912345678"), ("messageId", "0A2"), ("text", "x")], method: "GET")).from == "+84912345678")
    }

    @Test("inbound by GET, with parts")
    func inboundParts() throws {
        let form = [("msisdn", "84912345678"), ("to", "84900000003"), ("messageId", "0A00000001"), ("text", "TRE Lan"), ("type", "text"),
                    ("message-timestamp", "2026-11-28 02:00:00"), ("concat", "true"), ("concat-ref", "7"), ("concat-total", "2"), ("concat-part", "1")]
        let sms = try provider.decodeInbound(formWebhook(form, method: "GET"))
        #expect(sms.from == "+84912345678")
        #expect(sms.part == .init(reference: "7", total: 2, number: 1))
        #expect(throws: WebhookError.self) {
            try provider.decodeInbound(formWebhook([("msisdn", "1"), ("messageId", "2"), ("concat", "true"), ("concat-ref", "7"),
                                                    ("concat-total", "2"), ("concat-part", "3")], method: "GET"))
        }
    }

    @Test("md5hash signature")
    func signature() throws {
        var form = [("msisdn", "84912345678"), ("messageId", "1"), ("text", "a&b=c"), ("timestamp", "1700000000")]
        let sig = VonageSignature.compute(parameters: form, secret: "sigsecret", method: "md5hash")
        #expect(sig.count == 32)
        form.append(("sig", sig))
        try provider.verify(formWebhook(form, method: "GET"))
        form[0].1 = "84900000000"
        #expect(throws: WebhookError(.forbidden, "sig does not match")) { try provider.verify(formWebhook(form, method: "GET")) }
    }

    @Test("status 1 (throttled) retries; others stop")
    func answers() {
        #expect(provider.interpret(response(200, #"{"message-count": "1", "messages": [{"to": "84912345678", "message-id": "0A1", "status": "0"}]}"#))
                == .accepted(providerMessageID: "0A1"))
        #expect(provider.interpret(response(200, #"{"messages": [{"status": "1", "error-text": "Throughput Rate Exceeded"}]}"#))
                == .retryable("Vonage status 1: Throughput Rate Exceeded"))
        #expect(provider.interpret(response(200, #"{"messages": [{"status": "6", "error-text": "Invalid Message"}]}"#))
                == .permanent("Vonage status 6: Invalid Message"))
        let request = provider.sendRequest(to: "+84912345678", text: "Lũng Cú")
        let form = FormBody.parse(String(decoding: request.body ?? [], as: UTF8.self))
        #expect(form["to"] == "84912345678" && form["type"] == "unicode" && form["status-report-req"] == "1")
        #expect(form["callback"] == "https://tipline.example.org/channels/vonage/status")
    }

    @Test func deliveryReceipts() throws {
        let dlr = try provider.decodeDeliveryReport(formWebhook([("messageId", "0A1"), ("status", "failed"), ("err-code", "5")], method: "GET"))
        #expect(dlr.outcome == .failed && dlr.error == "Vonage err-code 5")
    }
}

@Suite("Generic JSON")
struct GenericTests {
    let provider = GenericProvider(settings: ChannelSettings(
        name: "generic", provider: .generic, number: "+84900000004", baseURL: "http://127.0.0.1:9000/send",
        credentials: ["api_token": "tok", "webhook_token": "w"], verifyRequests: true))

    func json(_ text: String, token: String = "w") -> WebhookRequest {
        WebhookRequest(method: "POST", pathAndQuery: "/channels/generic/sms",
                       headers: [("Content-Type", "application/json"), ("X-Tipline-Token", token)], body: Array(text.utf8))
    }

    @Test func inbound() throws {
        let request = json(#"{"id": "g1", "from": "+84912345678", "to": "+84900000004", "text": "TRE Lan", "received_at": "2026-11-28T02:00:00Z"}"#)
        try provider.verify(request)
        let sms = try provider.decodeInbound(request)
        #expect(sms.providerMessageID == "g1" && sms.text == "TRE Lan")
        #expect(throws: WebhookError.self) { try provider.verify(json("{}", token: "x")) }
        #expect(throws: WebhookError(.badRequest, "body is not a JSON object")) { try provider.decodeInbound(json("[1]")) }
    }

    @Test func send() {
        let request = provider.sendRequest(to: "+84912345678", text: "hi")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer tok" })
        #expect(provider.interpret(response(200, #"{"id": "out-1"}"#)) == .accepted(providerMessageID: "out-1"))
        #expect(provider.interpret(response(503, "down")) == .retryable("HTTP 503: down"))
        #expect(provider.interpret(response(422, "bad number")) == .permanent("HTTP 422: bad number"))
    }
}
