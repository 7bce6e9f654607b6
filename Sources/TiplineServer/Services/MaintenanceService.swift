import Foundation
import Logging
import ServiceLifecycle
import TiplineStore

/// Periodic upkeep: writes the channel log, parses messages whose parts stopped arriving, and expires old
/// channel-log entries. Flushes the channel log once more on shutdown.
public struct MaintenanceService: Service, CustomStringConvertible {
    public let description = "MaintenanceService"
    let database: AppDatabase
    let channelLog: ChannelLogBuffer
    let intake: Intake
    let ussd: UssdSessions
    let settings: Settings
    let deployment: DeploymentHolder
    let clock: @Sendable () -> Date
    let onQueued: @Sendable () -> Void
    let logger: Logger

    /// Invites the roster numbers never invited (at start, and within a minute of a reload that adds one).
    @discardableResult
    public func inviteNewRosterNumbers() async throws -> Int {
        let current = deployment.current
        let now = clock()
        let count = try await database.write { store in
            try CaseWorkflow(store: store, deployment: current, now: now).inviteNewRosterNumbers()
        }
        if count > 0 {
            logger.notice("roster numbers invited to confirm", metadata: ["count": "\(count)"])
            onQueued()
        }
        return count
    }

    public func run() async throws {
        var lastPurge = Date.distantPast
        var lastParts = Date.distantPast
        var lastInvitations = Date.distantPast
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            let now = clock()
            do {
                try await channelLog.flush(to: database)
                if now.timeIntervalSince(lastInvitations) >= 60 {
                    lastInvitations = now
                    try await inviteNewRosterNumbers()
                }
                if now.timeIntervalSince(lastParts) >= min(5, settings.concatWait / 2) {
                    lastParts = now
                    let assembled = try await intake.assembleStaleParts(olderThan: now.addingTimeInterval(-settings.concatWait))
                    if assembled > 0 { logger.notice("incomplete multi-part messages parsed as they are", metadata: ["count": "\(assembled)"]) }
                    if !settings.ussdChannels.isEmpty { _ = try await ussd.keepAbandoned(channels: settings.ussdChannels) }
                }
                if now.timeIntervalSince(lastPurge) >= 86400 / 24 {
                    // Retention runs hourly (its cut-offs are in days, so this is the daily job, done promptly).
                    lastPurge = now
                    let summary = try await database.purge(settings.retention, now: now, dryRun: false)
                    if summary != PurgeSummary() { logger.info("retention purge", metadata: ["done": "\(summary)"]) }
                }
            } catch {
                logger.error("maintenance step failed; will retry", metadata: ["error": "\(error)"])
            }
        }
        try? await channelLog.flush(to: database)
    }
}

