import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import TiplineProviders

/// A loopback stand-in for Twilio's Messages API, speaking its exact wire format, that keeps what it receives.
///
/// `fail(next:)` makes the next calls answer 500 (then it recovers).
final class FakeTwilio: Sendable {
    struct Received: Sendable, Equatable {
        var to: String
        var from: String
        var body: String
        var statusCallback: String?
        var authorization: String?
    }

    private let state = Mutex<(received: [Received], failures: Int, calls: Int)>(([], 0, 0))
    let account = "ACtest0000000000000000000000000000"

    var received: [Received] { state.withLock { $0.received } }
    var calls: Int { state.withLock { $0.calls } }
    func fail(next count: Int) { state.withLock { $0.failures = count } }

    /// Sends to a held number hang (up to 20 s) until it is released: a provider slow on one message.
    private let held = Mutex<Set<String>>([])
    func hold(_ phone: String) { held.withLock { _ = $0.insert(phone) } }
    func release(_ phone: String) { held.withLock { _ = $0.remove(phone) } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("2010-04-01/Accounts/:account/Messages.json") { request, context -> Response in
            let body = try await request.body.collect(upTo: 65536)
            let form = FormBody.parse(String(buffer: body))
            let deadline = ContinuousClock.now + .seconds(20)
            while self.held.withLock({ $0.contains(form["To"] ?? "") }), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            guard context.parameters.get("account") == self.account else {
                return Response(status: .notFound, body: .init(byteBuffer: ByteBuffer(string: "{\"code\": 20404}")))
            }
            let outcome = self.state.withLock { state -> Int? in
                state.calls += 1
                if state.failures > 0 {
                    state.failures -= 1
                    return nil
                }
                state.received.append(Received(to: form["To"] ?? "", from: form["From"] ?? "", body: form["Body"] ?? "",
                                               statusCallback: form["StatusCallback"], authorization: request.headers[.authorization]))
                return state.received.count
            }
            guard let number = outcome else {
                return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: "{\"code\": 20500, \"message\": \"Internal Server Error\"}")))
            }
            let json = "{\"sid\": \"SM\(String(format: "%032d", number))\", \"status\": \"queued\", \"to\": \"\(form["To"] ?? "")\"}"
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        return router
    }

    /// Waits (polling, bounded) until `condition` holds for what was received.
    func waitFor(timeout: Duration = .seconds(20), _ condition: @Sendable ([Received]) -> Bool) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let received = self.received
            if condition(received) { return received }
            try await Task.sleep(for: .milliseconds(20))
        }
        return received
    }
}

/// Runs `app` on a loopback port until `body` returns, then shuts it down gracefully.
func withRunning<T: Sendable>(
    _ makeApp: (@escaping @Sendable (Int) async -> Void) async throws -> some ApplicationProtocol,
    _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
    let app = try await makeApp { port in continuation.yield(port) }
    let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let result = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

func runFakeTwilio<T: Sendable>(_ fake: FakeTwilio, _ body: (Int) async throws -> T) async throws -> T {
    try await withRunning({ onRunning in
        Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                    logger: Logger(label: "fake-twilio"))
    }, body)
}
