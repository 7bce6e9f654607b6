import CurlHTTP
import Foundation
import Testing
@testable import TiplineServer
import TiplineStore

/// The hotline web pages in a real headless Chromium (selenium + chromium-driver, installed by scripts/test):
/// sign in, filter the log, open a report, acknowledge it, sign out, and a CSRF-less POST refused.
@Suite("Hotline web pages in a browser")
struct BrowserTests {
    let client = CurlClient()

    @Test func signInFilterOpenAcknowledgeSignOut() async throws {
        let script = TestDeployment.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/hotline_browser.py").path
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await deployment.runtime()
            try await runtime.database.insertUser(name: "desk-a", role: .hotline, officerID: nil,
                                                  passwordHash: try StaffAuth.hash(password: "a long test password", cost: .testing), now: Date())
            try await runTipline(runtime) { port in
                for (index, text) in ["KHAN be gai 12t xa Lung Cu dang bi dua sang TQ", "TRE Hoa 16t nu phuong Thuan An di Ha Noi",
                                      "TRE Lan 14t nu xa Lung Cu di HCM"].enumerated() {
                    _ = try await postSMS(client, port: port, sid: "SM-web-\(index)", from: "+8490000050\(index)", body: text)
                }
                // TIPLINE_SCREENSHOTS=docs/screenshots keeps a picture of each page (the docs' screenshots are made so).
                let run = try await Subprocess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                                   ["python3", script, "http://127.0.0.1:\(port)", "desk-a", "a long test password"]
                                                       + (ProcessInfo.processInfo.environment["TIPLINE_SCREENSHOTS"].map { [$0] } ?? []))
                let text = run.output
                #expect(run.status == 0, "\(text.suffix(2000))")
                #expect(text.contains("OK: browser checks passed"))
                let report = try #require(try await runtime.database.report(number: 1001))
                #expect(report.assignedTo == "desk-a")
                #expect(try await runtime.database.auditLog(limit: 20).contains { $0.action == "view_report" && $0.actor == "desk-a" })
            }
        }
    }
}
