import Foundation
import Synchronization
import TiplineStore

/// Collects channel-log entries in memory and writes them in one transaction a second (from ``MaintenanceService``),
/// so logging every webhook and provider call costs the intake path no write of its own.
public final class ChannelLogBuffer: Sendable {
    private let entries = Mutex<[ChannelLogEntry]>([])
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    public func record(_ entry: ChannelLogEntry) {
        entries.withLock { entries in
            if entries.count < capacity { entries.append(entry) }
        }
    }

    func drain() -> [ChannelLogEntry] {
        entries.withLock { entries in
            defer { entries.removeAll(keepingCapacity: true) }
            return entries
        }
    }

    /// Writes what has been collected.
    public func flush(to database: AppDatabase) async throws {
        let batch = drain()
        guard !batch.isEmpty else { return }
        do {
            try await database.appendChannelLog(batch)
        } catch {
            entries.withLock { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }
}
