import GRDB
import Synchronization

/// Group commit: many concurrent small writes share one transaction (and one fsync).
///
/// Each piece of work runs in its own savepoint, so one that throws is rolled back alone and fails alone; the
/// callers resume only after the shared transaction has committed — a webhook answers 200 only once its message
/// is on disk. While one batch commits, the next one gathers.
public final class WriteBatcher: Sendable {
    private let database: AppDatabase
    private let maxBatch: Int
    private let state = Mutex(State())

    private struct State {
        var pending: [Job] = []
        var draining = false
    }

    private struct Job: Sendable {
        let run: @Sendable (any SQLSession) -> Void
        let finish: @Sendable ((any Error)?) -> Void
    }

    public init(database: AppDatabase, maxBatch: Int = 256) {
        self.database = database
        self.maxBatch = maxBatch
    }

    /// Runs `work` inside the next shared write transaction; returns after that transaction commits.
    public func write<T: Sendable>(_ work: @escaping @Sendable (CaseStore) throws -> T) async throws -> T {
        let box = ResultBox<T>()
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let job = Job(
                run: { session in
                    // A savepoint of our own on cached statements (GRDB's inSavepoint compiles its SQL each time).
                    do {
                        try session.execute("SAVEPOINT intake")
                    } catch {
                        box.set(.failure(error))
                        return
                    }
                    do {
                        let value = try work(CaseStore(session))
                        try session.execute("RELEASE SAVEPOINT intake")
                        box.set(.success(value))
                    } catch {
                        _ = try? session.execute("ROLLBACK TO SAVEPOINT intake")
                        _ = try? session.execute("RELEASE SAVEPOINT intake")
                        box.set(.failure(error))
                    }
                },
                finish: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else {
                        continuation.resume()
                    }
                }
            )
            let startDrain = state.withLock { state -> Bool in
                state.pending.append(job)
                if state.draining { return false }
                state.draining = true
                return true
            }
            if startDrain {
                Task.detached { await self.drain() }
            }
        }
        return try box.get()
    }

    private func drain() async {
        while true {
            let jobs = state.withLock { state -> [Job] in
                if state.pending.isEmpty {
                    state.draining = false
                    return []
                }
                let count = min(maxBatch, state.pending.count)
                let jobs = Array(state.pending.prefix(count))
                state.pending.removeFirst(count)
                return jobs
            }
            if jobs.isEmpty { return }
            do {
                try await database.sqlWrite { session in
                    for job in jobs { job.run(session) }
                }
                for job in jobs { job.finish(nil) }
            } catch {
                for job in jobs { job.finish(error) }
            }
        }
    }
}

private final class ResultBox<T: Sendable>: Sendable {
    private let result = Mutex<Result<T, any Error>?>(nil)
    func set(_ value: Result<T, any Error>) { result.withLock { $0 = value } }
    func get() throws -> T {
        guard let value = result.withLock({ $0 }) else { throw CancellationError() }
        return try value.get()
    }
}
