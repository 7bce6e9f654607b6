import CurlHTTP
import Foundation
import GRDB
import Testing
import TiplineServer
import TiplineStore

@Suite("End to end: restart with messages queued")
struct RestartTests {
    let client = CurlClient()

    @Test("messages queued while the provider is down, and one left mid-send by a crash, are delivered once after a restart")
    func queuedMessagesSurviveRestart() async throws {
        let fake = FakeTwilio()
        try await runFakeTwilio(fake) { providerPort in
            // First run: the provider's address refuses connections, so every send fails and stays queued. The port is
            // held for the whole test: released, another test's server could take it and answer (a 404 fails a send).
            let closed = try RefusingPort()
            defer { withExtendedLifetime(closed) {} }
            // Enough attempts that none gives up while the provider is down.
            let down = try await TestDeployment(providerPort: closed.port, maxAttempts: 100)
            defer { down.remove() }
            let firstRuntime = try await down.runtime()
            try await runTipline(firstRuntime) { port in
                for (index, text) in ["TRE Lan 14t nu xa Lung Cu di HCM", "KHAN be gai 12t xa Meo Vac dang bi dua sang TQ"].enumerated() {
                    let response = try await postSMS(client, port: port, sid: "SM-restart-\(index)", from: "+8490000030\(index)", body: text)
                    #expect(response.status == 200)
                }
                _ = try await waitForOutbox(firstRuntime.database) { $0.allSatisfy { $0.attempts >= 1 } }
            }
            // A crash between a send and its record leaves a message `sending`.
            try await firstRuntime.database.sqlWrite { session in
                // (Its claim's lease run out too: on PostgreSQL another instance, or this one restarted, takes it then.)
                try session.execute("UPDATE outbox SET state = 'sending', lease_until = updated_at WHERE id = (SELECT MIN(id) FROM outbox)")
            }
            let queued = try await firstRuntime.database.outboundMessages()
            #expect(queued.count >= 4)
            #expect(queued.allSatisfy { $0.state == .queued || $0.state == .sending })

            // Second run on the same database, the provider now reachable.
            let up = TestDeploymentRebase(down, providerPort: providerPort)
            let secondRuntime = try await up.runtime()
            try await runTipline(secondRuntime) { _ in
                let delivered = try await waitForOutbox(secondRuntime.database) { $0.allSatisfy { $0.state == .sent } }
                #expect(delivered.allSatisfy { $0.state == .sent })
                let received = try await fake.waitFor { $0.count >= queued.count }
                try await Task.sleep(for: .milliseconds(300))
                #expect(fake.received.count == queued.count, "each queued message delivered exactly once")
                #expect(Set(fake.received.map { "\($0.to)|\($0.body)" }).count == received.count)
            }
        }
    }
}

/// The same deployment folder (and database), its provider base URL moved.
func TestDeploymentRebase(_ deployment: TestDeployment, providerPort: Int) -> TestDeployment {
    let path = deployment.configPath
    let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    let moved = text.replacingOccurrences(of: #"base_url: http://127\.0\.0\.1:\d+"#, with: "base_url: http://127.0.0.1:\(providerPort)",
                                          options: .regularExpression)
    try? moved.write(toFile: path, atomically: true, encoding: .utf8)
    return deployment
}
