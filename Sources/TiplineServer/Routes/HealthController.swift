import Crypto
import Foundation
import Hummingbird
import TiplineStore

/// `/health/live`, `/health/ready` and `/metrics`.
///
/// With an operator token (`server.operator_token`), readiness and metrics answer only `Authorization: Bearer <token>`:
/// they tell the outbox depth and each provider's last error. Liveness stays open for the service manager.
struct HealthController {
    let database: AppDatabase
    let dispatcher: OutboxDispatcher
    let escalation: EscalationService
    let metrics: TiplineMetrics
    let operatorToken: String?
    let clock: @Sendable () -> Date

    /// Adds liveness, and readiness and metrics unless `operatorRoutes` is false (they are on the operator listener).
    func addRoutes(to router: Router<TiplineRequestContext>, operatorRoutes: Bool = true) {
        router.get("health/live") { _, _ in
            jsonResponse(.ok, ["status": "live"])
        }
        guard operatorRoutes else { return }
        let router = router.group()
        if let operatorToken { router.add(middleware: OperatorTokenMiddleware(token: operatorToken)) }
        router.get("health/ready") { _, _ in
            let writable = await database.isWritable()
            let dispatching = dispatcher.isRunning
            let escalating = escalation.isRunning
            let summary = try? await database.outboxSummary(now: clock())
            let ready = writable && dispatching && escalating
            let formatter = ISO8601DateFormatter()
            var channels: [String: Any] = [:]
            for (name, status) in dispatcher.channelStatus {
                channels[name] = ["last_call_ok": status.ok, "last_call_at": formatter.string(from: status.at),
                                  "error": status.error ?? NSNull()] as [String: Any]
            }
            return jsonResponse(ready ? .ok : .serviceUnavailable, [
                "status": ready ? "ready" : "not ready",
                "database_writable": writable,
                "dispatcher_running": dispatching,
                "escalation_running": escalating,
                "channels": channels,
                "outbox_queued": summary?.counts[.queued] ?? 0,
                "outbox_oldest_pending_seconds": summary?.oldestQueued ?? 0,
            ])
        }
        router.get("metrics") { _, _ -> Response in
            await metrics.refresh(from: database, now: clock())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
    }
}

/// `Authorization: Bearer <operator token>`, compared in constant time; anything else is 401.
struct OperatorTokenMiddleware: RouterMiddleware {
    typealias Context = TiplineRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer "),
              Self.same(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), token) else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"],
                            message: "send Authorization: Bearer <operator token> (server.operator_token)")
        }
        return try await next(request, context)
    }

    /// Equal or not, in a time that depends on neither value: their SHA-256 digests are compared byte by byte, in full.
    static func same(_ sent: String, _ expected: String) -> Bool {
        let a = Array(SHA256.hash(data: Data(sent.utf8))), b = Array(SHA256.hash(data: Data(expected.utf8)))
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
