import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import TiplineServer
@testable import TiplineStore

/// Training tools cannot reach production: off unless the config says so, never beside a real provider, and for
/// signed-in staff of a training role only.
@Suite("Training tools")
struct TrainingToolsTests {
    func loadError(_ edit: @escaping (String) -> String, environment: [String: String] = [:]) throws -> String {
        let folder = try SampleDeployment.copy(editing: "tipline.yaml", edit)
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            _ = try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys.merging(environment) { $1 })
            return ""
        } catch {
            return "\(error)"
        }
    }

    @Test("the simulator beside an enabled real provider is a config error naming the file and key")
    func neverBesideARealProvider() throws {
        let message = try loadError({ $0.replacingOccurrences(of: "  twilio:\n    enabled: false", with: "  twilio:\n    enabled: true") },
                                    environment: ["TIPLINE_CHANNEL_TWILIO_AUTH_TOKEN": "x"])
        #expect(message.contains("tipline.yaml:") && message.contains("training.enabled: training tools never run beside a real provider channel (enabled: twilio)"),
                "\(message)")
    }

    @Test("tipline seed writes fictional cases only where the outbound channel is this machine")
    func seedingOnlyOnScratch() throws {
        var settings = try SampleDeployment.load().settings
        #expect(settings.seedingRefusal == nil, "the simulator")
        var channel = try #require(settings.channels[settings.outboundChannel])
        channel.provider = .twilio
        for (url, refused) in [("http://127.0.0.1:18081", false), ("http://localhost:9000/send", false), ("http://[::1]:80", false),
                               ("https://api.twilio.com", true), ("http://10.0.0.5:9000", true), ("http://127.0.0.1.example.org", true), ("", true)] {
            channel.baseURL = url
            settings.channels[settings.outboundChannel] = channel
            let refusal = settings.seedingRefusal
            #expect((refusal != nil) == refused, "\(url): \(refusal ?? "allowed")")
            if let refusal { #expect(refusal.hasPrefix("refused: the outbound channel 'simulator' sends to ")) }
        }
    }

    @Test("a simulator channel with training off is a config error")
    func simulatorNeedsTraining() throws {
        let message = try loadError { $0.replacingOccurrences(of: "training:\n  enabled: true", with: "training:\n  enabled: false") }
        #expect(message.contains("channels.simulator.provider: the simulator is a training tool and training is off"), "\(message)")
    }

    @Test("simulator routes: 401 without staff, 403 for a role that may not train, 200 for a trainer; the send API takes only this process's credentials")
    func staffOnly() async throws {
        let s = try await Scenario(at: "2026-11-30T10:00:00+07:00")
        defer { s.remove() }
        _ = try await s.runtime.database.insertToken(name: "trainer", role: .hotline, officerID: nil, hash: StaffAuth.hash(token: "tl_trainer"), now: Date())
        _ = try await s.runtime.database.insertToken(name: "officer", role: .officer, officerID: "lungcu-police",
                                                     hash: StaffAuth.hash(token: "tl_officer"), now: Date())
        try await s.addUser("police", role: .officer, officer: "lungcu-police", password: "officer password 1")
        try await s.live { client in
            #expect(try await client.execute(uri: "/simulator/messages", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/simulator/messages", method: .get, headers: [.authorization: "Bearer tl_officer"]).status == .forbidden)
            #expect(try await client.execute(uri: "/simulator/messages", method: .get, headers: [.authorization: "Bearer tl_trainer"]).status == .ok)
            let inbound = try await client.execute(uri: "/simulator/inbound", method: .post,
                                                   headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "From=0900000201&Body=HD"))
            #expect(inbound.status == .unauthorized, "no reports from strangers through the simulator")
            let send = try await client.execute(uri: "/simulator/2010-04-01/Accounts/ACsimulator/Messages.json", method: .post,
                                                headers: [.contentType: "application/x-www-form-urlencoded",
                                                          .authorization: "Basic " + Data("ACsimulator:simulator".utf8).base64EncodedString()],
                                                body: ByteBuffer(string: "To=%2B84900000201&Body=hi"))
            #expect(send.status == .unauthorized, "the old fixed credentials no longer work")
            let officer = try #require(try await WebAccessTests.signIn(client, "police", "officer password 1").cookie)
            #expect(try await client.execute(uri: "/phone", method: .get, headers: [.cookie: officer]).status == .forbidden)
        }
    }
}
