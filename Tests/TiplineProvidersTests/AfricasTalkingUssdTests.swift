import Foundation
import Testing
@testable import TiplineProviders

/// A USSD callback as the aggregator posts it.
private func callback(_ form: [(String, String)], path: String = "/channels/ussd/ussd", headers: [(name: String, value: String)] = [],
                      source: String? = "203.0.113.10") -> WebhookRequest {
    WebhookRequest(method: "POST", pathAndQuery: path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                   body: Array(FormBody.encode(form).utf8), sourceAddress: source)
}

private let screen = [("sessionId", "ATUid_1"), ("serviceCode", "*123#"), ("phoneNumber", "+84900000551"), ("networkCode", "45204"),
                      ("text", "1*Lan*14")]

@Suite("Africa's Talking USSD: decode")
struct AfricasTalkingUssdDecodeTests {
    let ussd = AfricasTalkingUssd(verifyRequests: false)

    @Test("every field of the callback")
    func fields() throws {
        let request = try ussd.decode(callback(screen))
        #expect(request == UssdRequest(sessionID: "ATUid_1", serviceCode: "*123#", phoneNumber: "+84900000551", networkCode: "45204",
                                       text: "1*Lan*14"))
    }

    @Test("a * typed inside an answer is kept, sent as it is or percent-encoded")
    func starKept() throws {
        let typed = try ussd.decode(callback([("sessionId", "S"), ("phoneNumber", "+84900000551"), ("text", "2*meo*1*nguoi la dua 2 be * len xe")]))
        #expect(typed.text == "2*meo*1*nguoi la dua 2 be * len xe")
        let raw = WebhookRequest(method: "POST", pathAndQuery: "/channels/ussd/ussd", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                 body: Array("sessionId=S&phoneNumber=%2B84900000551&text=1*Lan%2A14*".utf8))
        #expect(try ussd.decode(raw).text == "1*Lan*14*")
    }

    @Test("the first screen: an empty text; serviceCode and networkCode may be left out")
    func firstScreen() throws {
        let request = try ussd.decode(callback([("sessionId", "S"), ("phoneNumber", "+84900000551"), ("text", "")]))
        #expect(request.text == "" && request.serviceCode == nil && request.networkCode == nil)
        #expect(try ussd.decode(callback([("sessionId", "S"), ("phoneNumber", "+84900000551")])).text == "")
    }

    @Test("a missing or empty sessionId or phoneNumber is a 400 naming the field", arguments: ["sessionId", "phoneNumber"])
    func missingField(_ field: String) throws {
        for form in [screen.filter { $0.0 != field }, screen.map { $0.0 == field ? ($0.0, "") : $0 }] {
            let error = #expect(throws: WebhookError.self) { try ussd.decode(callback(form)) }
            #expect(error?.status == .badRequest)
            #expect(error?.reason.contains(field) == true, "\(error?.reason ?? "")")
        }
    }

    @Test("a body that is not a form is a 400")
    func notAForm() {
        let json = WebhookRequest(method: "POST", pathAndQuery: "/channels/ussd/ussd", headers: [("Content-Type", "application/json")],
                                  body: Array(#"{"sessionId": "S"}"#.utf8))
        let error = #expect(throws: WebhookError.self) { try ussd.decode(json) }
        #expect(error?.status == .badRequest && error?.reason.contains("form") == true)
    }
}

@Suite("Africa's Talking USSD: verify")
struct AfricasTalkingUssdVerifyTests {
    let tokenOnly = AfricasTalkingUssd(webhookToken: "s3cret-token")

    @Test("the right token passes, in the callback URL or the X-Tipline-Token header")
    func rightToken() throws {
        try tokenOnly.verify(callback(screen, path: "/channels/ussd/ussd?token=s3cret-token"))
        try tokenOnly.verify(callback(screen, headers: [("X-Tipline-Token", "s3cret-token")]))
    }

    @Test("a wrong token is a 403 saying so, whatever its length")
    func wrongToken() {
        for token in ["s3cret-tokem", "s3cret", "s3cret-token-and-more", "S3CRET-TOKEN"] {
            #expect(throws: WebhookError(.forbidden, "wrong webhook token")) {
                try tokenOnly.verify(callback(screen, path: "/channels/ussd/ussd?token=\(token)"))
            }
        }
        #expect(throws: WebhookError(.forbidden, "wrong webhook token")) {
            try tokenOnly.verify(callback(screen, headers: [("X-Tipline-Token", "nope")]))
        }
    }

    @Test("no token, or an empty one, is a 403 saying where the token goes")
    func noToken() {
        for path in ["/channels/ussd/ussd", "/channels/ussd/ussd?token="] {
            let error = #expect(throws: WebhookError.self) { try tokenOnly.verify(callback(screen, path: path)) }
            #expect(error?.status == .forbidden)
            #expect(error?.reason.hasPrefix("missing webhook token") == true, "\(error?.reason ?? "")")
        }
    }

    @Test("the source allow-list: an allowed address passes without a token; any other, or none, is a 403")
    func sourceAllowList() throws {
        let sourcesOnly = AfricasTalkingUssd(allowedSources: ["203.0.113.10", "::1"])
        try sourcesOnly.verify(callback(screen))
        try sourcesOnly.verify(callback(screen, source: "::1"))
        for source in ["10.1.2.3", nil] {
            #expect(throws: WebhookError(.forbidden, "source address not allowed for this channel")) {
                try sourcesOnly.verify(callback(screen, source: source))
            }
        }
    }

    @Test("with both, a request needs the allowed address and the right token")
    func sourceAndToken() throws {
        let both = AfricasTalkingUssd(webhookToken: "s3cret-token", allowedSources: ["203.0.113.10"])
        try both.verify(callback(screen, path: "/channels/ussd/ussd?token=s3cret-token"))
        #expect(throws: WebhookError.self) { try both.verify(callback(screen)) }
        #expect(throws: WebhookError(.forbidden, "source address not allowed for this channel")) {
            try both.verify(callback(screen, path: "/channels/ussd/ussd?token=s3cret-token", source: "10.1.2.3"))
        }
    }

    @Test("verification off skips the token but not the allow-list")
    func verificationOff() throws {
        try AfricasTalkingUssd(verifyRequests: false, webhookToken: "s3cret-token").verify(callback(screen))
        let listed = AfricasTalkingUssd(verifyRequests: false, allowedSources: ["203.0.113.10"])
        #expect(throws: WebhookError.self) { try listed.verify(callback(screen, source: "10.1.2.3")) }
    }

    @Test("verification on with neither a token nor an allow-list refuses everything")
    func nothingToCheck() {
        let error = #expect(throws: WebhookError.self) { try AfricasTalkingUssd().verify(callback(screen)) }
        #expect(error?.status == .forbidden)
    }

    @Test("tokens are compared whole: equal only when every byte and the length match")
    func sameToken() {
        #expect(AfricasTalkingUssd.sameToken("s3cret-token", "s3cret-token"))
        #expect(!AfricasTalkingUssd.sameToken("s3cret-token", "s3cret-toke"))
        #expect(!AfricasTalkingUssd.sameToken("", "s3cret-token"))
        #expect(!AfricasTalkingUssd.sameToken("s3cret-tokeN", "s3cret-token"))
    }
}
