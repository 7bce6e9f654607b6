import CurlHTTP
import Foundation
import Logging
import Synchronization
import Testing
import TiplineProviders
@testable import TiplineServer

/// Keeps every log line (message and metadata) at every level.
final class CapturedLogs: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])

    struct Handler: LogHandler {
        let store: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            store.lines.withLock { $0.append((event.level, "\(event.message) \(all)")) }
        }
    }

    var logger: Logger { Logger(label: "captured") { _ in Handler(store: self) } }
}

@Suite("Privacy")
struct PrivacyTests {
    let client = CurlClient()

    @Test("no log line at info or above carries a full phone number or a message body, even when a provider echoes one")
    func logsAreMasked() async throws {
        let fake = FakeProviders()
        let logs = CapturedLogs()
        try await runFakeProviders(fake) { providerPort in
            let deployment = try await TestDeployment(providerPort: providerPort)
            defer { deployment.remove() }
            let runtime = try await TiplineRuntime.make(deployment: try deployment.load(), logger: logs.logger)
            try await runTipline(runtime) { port in
                fake.script([.status(400, #"{"code": 21211, "message": "The 'To' number +84900000701 is not a valid phone number."}"#)])
                let texts = ["TRE Giang Thi Mai 13t nu xa Lung Cu di Trung Quoc voi chu Tuan 0912345678", "NHAN 1001", "KHAN be gai xa Meo Vac"]
                for (index, text) in texts.enumerated() {
                    _ = try await postSMS(client, port: port, sid: "SM-p\(index)", from: "+8490000070\(index + 1)", body: text)
                }
                _ = try await waitForOutbox(runtime.database) { $0.allSatisfy { $0.state == .sent || $0.state == .failed } }
            }
        }
        let lines = logs.lines.withLock { $0 }.filter { $0.0 >= .info }.map(\.1)
        #expect(!lines.isEmpty)
        for line in lines {
            for number in ["+84900000701", "84900000701", "+84900000702", "+84912345678", "0912345678", "+84900000101"] {
                #expect(!line.contains(number), "full number in a log line: \(line)")
            }
            for fragment in ["Giang Thi Mai", "chu Tuan", "be gai"] {
                #expect(!line.contains(fragment), "message text in a log line: \(line)")
            }
        }
        #expect(lines.contains { $0.contains("officer command from a number not in the roster") && $0.contains("+8490****702") })
    }
}
