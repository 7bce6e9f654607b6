import Foundation
import TiplineServer

/// The usual end-to-end set-up: a loopback fake Twilio, a test deployment pointing at it, and tipline running.
func withTipline<T: Sendable>(
    extra: String = "", environment: [String: String] = [:], verify: Bool = false, segmentsPerSecond: Double = 1000, sendTimeout: Double = 10,
    _ body: (_ fake: FakeTwilio, _ runtime: TiplineRuntime, _ port: Int) async throws -> T
) async throws -> T {
    let fake = FakeTwilio()
    return try await runFakeTwilio(fake) { providerPort in
        let deployment = try await TestDeployment(providerPort: providerPort, verify: verify, extra: extra, environment: environment,
                                            sendTimeout: sendTimeout, segmentsPerSecond: segmentsPerSecond)
        defer { deployment.remove() }
        let runtime = try await deployment.runtime()
        return try await runTipline(runtime) { port in try await body(fake, runtime, port) }
    }
}
