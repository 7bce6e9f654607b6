import Foundation
import Logging
import Synchronization
import ServiceLifecycle
import TiplineStore

/// Runs the escalation timers every few seconds (and at once when an officer passes a case on).
public final class EscalationService: Service, CustomStringConvertible {
    public let description = "EscalationService"
    let database: AppDatabase
    let deployment: DeploymentHolder
    let clock: @Sendable () -> Date
    let interval: Duration
    let metrics: TiplineMetrics
    let onQueued: @Sendable () -> Void
    let logger: Logger
    private let wakeups: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init(database: AppDatabase, deployment: DeploymentHolder, clock: @escaping @Sendable () -> Date, metrics: TiplineMetrics,
         interval: Duration = .seconds(5),
         onQueued: @escaping @Sendable () -> Void, logger: Logger) {
        self.database = database
        self.deployment = deployment
        self.clock = clock
        self.interval = interval
        self.metrics = metrics
        self.onQueued = onQueued
        self.logger = logger
        (wakeups, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public func wake() { continuation.yield() }

    /// Fires every due timer now; returns how many.
    @discardableResult
    public func tick() async throws -> Int {
        let current = deployment.current
        let now = clock()
        let steps = try await database.write { store in
            try CaseWorkflow(store: store, deployment: current, now: now).runDueTimers()
        }
        let count = steps.count
        for step in steps { metrics.escalation(step: step) }
        if count > 0 {
            logger.info("escalation timers fired", metadata: ["count": "\(count)"])
            onQueued()
        }
        return count
    }

    private let running = Atomic<Bool>(false)
    public var isRunning: Bool { running.load(ordering: .relaxed) }

    public func run() async throws {
        running.store(true, ordering: .relaxed)
        defer { running.store(false, ordering: .relaxed) }
        await withGracefulShutdownHandler {
            var iterator = wakeups.makeAsyncIterator()
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    try await tick()
                } catch {
                    logger.error("escalation step failed; will retry", metadata: ["error": "\(error)"])
                }
                let timer = Task { [continuation, interval] in
                    try? await Task.sleep(for: interval)
                    continuation.yield()
                }
                _ = await iterator.next()
                timer.cancel()
            }
        } onGracefulShutdown: {
            self.continuation.yield()
        }
    }
}
