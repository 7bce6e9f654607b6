import CurlHTTP
import Foundation
import Testing
import TiplineProviders
import TiplineServer

@Suite("End to end: USSD over HTTP")
struct UssdEndToEndTests {
    let client = CurlClient()

    @Test("the Africa's Talking USSD protocol: form in, text/plain CON/END out; the confirmation SMS reaches the provider")
    func protocolOverHTTP() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort, extra: TestDeployment.ussdChannel)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runTipline(runtime) { port in
                func dial(_ text: String, session: String = "ATUid_1", path: String = "/channels/ussd/ussd") async throws -> CurlResponse {
                    let form = FormBody.encode([("sessionId", session), ("serviceCode", "*123#"), ("phoneNumber", "+84900000551"),
                                                ("networkCode", "45204"), ("text", text)])
                    return try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)\(path)",
                                                                headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Array(form.utf8)))
                }
                let first = try await dial("")
                #expect(first.status == 200 && first.header("Content-Type")?.hasPrefix("text/plain") == true)
                #expect(first.bodyText.hasPrefix("CON "))
                for text in ["2", "2*lung c", "2*lung c*1"] { #expect(try await dial(text).bodyText.hasPrefix("CON ")) }
                let end = try await dial("2*lung c*1*co nguoi la dua be di")
                #expect(end.bodyText.hasPrefix("END Da nhan tin KHAN so 1001"))
                let sms = try await fake.waitFor { sent in sent.contains { $0.to == "+84900000551" } && sent.contains { $0.to == "+84900000101" } }
                #expect(sms.contains { $0.to == "+84900000551" && $0.body.contains("1001") })
                #expect(sms.contains { $0.to == "+84900000101" && $0.body.hasPrefix("KHAN #1001") }, "officers alerted as for an SMS alert")

                #expect(try await dial("", path: "/channels/nope/ussd").status == 404)
                let bad = try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)/channels/ussd/ussd",
                                                               headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                                               body: Array("phoneNumber=%2B84900000551&text=".utf8)))
                #expect(bad.status == 400 && bad.bodyText.contains("sessionId"))
            }
        }
    }
}
