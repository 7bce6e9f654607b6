import Foundation
import Hummingbird
import TiplineStore

/// `/health/live`, `/health/ready` and `/metrics`.
struct HealthController {
    let database: AppDatabase
    let dispatcher: OutboxDispatcher
    let escalation: EscalationService
    let metrics: TiplineMetrics
    let clock: @Sendable () -> Date

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.get("health/live") { _, _ in
            jsonResponse(.ok, ["status": "live"])
        }
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
