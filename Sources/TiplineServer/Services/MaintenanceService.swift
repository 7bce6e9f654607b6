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
    let settings: Settings
    let clock: @Sendable () -> Date
    let logger: Logger

    public func run() async throws {
        var lastPurge = Date.distantPast
        var lastParts = Date.distantPast
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
            let now = clock()
            do {
                try await channelLog.flush(to: database)
                if now.timeIntervalSince(lastParts) >= min(5, settings.concatWait / 2) {
                    lastParts = now
                    let assembled = try await intake.assembleStaleParts(olderThan: now.addingTimeInterval(-settings.concatWait))
                    if assembled > 0 { logger.notice("incomplete multi-part messages parsed as they are", metadata: ["count": "\(assembled)"]) }
                }
                if now.timeIntervalSince(lastPurge) >= 3600 {
                    lastPurge = now
                    let removed = try await database.purgeChannelLog(before: now.addingTimeInterval(-Double(settings.channelLogDays) * 86400))
                    if removed > 0 { logger.info("channel log expired", metadata: ["removed": "\(removed)"]) }
                }
            } catch {
                logger.error("maintenance step failed; will retry", metadata: ["error": "\(error)"])
            }
        }
        try? await channelLog.flush(to: database)
    }
}

