import CoreMetrics
import Foundation
import Metrics
import Prometheus
import Synchronization
import TiplineStore

/// tipline's metrics, through swift-metrics into a Prometheus registry of the application's own (served at `/metrics`).
public struct TiplineMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// Turn timeouts already counted (the store keeps a running total; the counter takes what is new at each scrape).
    private let countedTimeouts = Tally()

    private final class Tally: Sendable {
        let value = Mutex(0)
    }

    public init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                                                   .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                                                   .seconds(2), .seconds(5), .seconds(10), .seconds(30)]
        self.factory = factory
    }

    public func inbound(channel: String, kind: String) {
        Counter(label: "tipline_inbound_messages_total", dimensions: [("channel", channel), ("kind", kind)], factory: factory).increment()
    }

    public func duplicate(channel: String) {
        Counter(label: "tipline_inbound_duplicates_total", dimensions: [("channel", channel)], factory: factory).increment()
    }

    public func rejected(channel: String, reason: String) {
        Counter(label: "tipline_webhook_rejections_total", dimensions: [("channel", channel), ("reason", reason)], factory: factory).increment()
    }

    public func parse(outcome: String) {
        Counter(label: "tipline_parse_outcomes_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// An answer the abuse limits held back (`sender_rate`, `recipient_rate`, `country`, `unreadable`).
    public func replyWithheld(reason: String) {
        Counter(label: "tipline_replies_withheld_total", dimensions: [("reason", reason)], factory: factory).increment()
    }

    public func escalation(step: String) {
        Counter(label: "tipline_escalations_total", dimensions: [("step", step)], factory: factory).increment()
    }

    public func outbound(channel: String, state: String) {
        Counter(label: "tipline_outbound_messages_total", dimensions: [("channel", channel), ("state", state)], factory: factory).increment()
    }

    public func providerCall(channel: String, status: String, seconds: Double) {
        Timer(label: "tipline_provider_request_duration_seconds", dimensions: [("channel", channel), ("status", status)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// Gauges read from the store when scraped.
    func refresh(from database: AppDatabase, now: Date) async {
        // First, and without the database: when every turn is taken, these are what a scrape must still show.
        if let turns = database.turns {
            // PostgreSQL: transactions running and waiting for their turn against database.max_connections; a turn
            // never given (20 s) fails its request (a webhook answers 503).
            Gauge(label: "tipline_database_transactions", dimensions: [("state", "running")], factory: factory).record(turns.running)
            Gauge(label: "tipline_database_transactions", dimensions: [("state", "waiting")], factory: factory).record(turns.waiting)
            Gauge(label: "tipline_database_transactions_limit", factory: factory).record(turns.limit)
            let new = countedTimeouts.value.withLock { counted -> Int in
                defer { counted = max(counted, turns.timedOut) }
                return max(0, turns.timedOut - counted)
            }
            let counter = Counter(label: "tipline_database_turn_timeouts_total", factory: factory)
            if new > 0 { counter.increment(by: new) }
        }
        guard let (counts, oldest) = try? await database.outboxSummary(now: now) else { return }
        for state in OutboundMessage.State.allCases {
            Gauge(label: "tipline_outbox_messages", dimensions: [("state", state.rawValue)], factory: factory).record(counts[state] ?? 0)
        }
        Gauge(label: "tipline_outbox_oldest_pending_seconds", factory: factory).record(oldest ?? 0)
        if let byStatus = try? await database.reportCountsByStatus() {
            for status in Report.Status.allCases {
                Gauge(label: "tipline_reports", dimensions: [("status", status.rawValue)], factory: factory).record(byStatus[status] ?? 0)
            }
        }
    }
}
