import CurlHTTP
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TiplineProviders
import TiplineCore
import TiplineStore

/// Sends the outbox through each channel's provider, and records what happened.
///
/// On start, messages left `sending` by a crash go back to the queue (so a crash between send and record may
/// resend once, never more). Retryable failures back off exponentially with jitter up to `max_attempts`;
/// permanent ones stop at once. Each channel is held to its segments-per-second limit.
/// On graceful shutdown it stops claiming new messages and lets the sends in flight finish.
public final class OutboxDispatcher: Service, CustomStringConvertible {
    public let description = "OutboxDispatcher"
    let database: AppDatabase
    let providers: [String: any SMSProvider]
    let client: CurlClient
    let settings: Settings.OutboxSettings
    let clock: @Sendable () -> Date
    let logger: Logger
    let metrics: TiplineMetrics
    let channelLog: ChannelLogBuffer
    private let wakeups: AsyncStream<Void>
    private let wakeupContinuation: AsyncStream<Void>.Continuation
    private let running = Atomic<Bool>(false)
    /// Set once a graceful shutdown begins: outcomes that cannot be recorded stop being retried then.
    private let stopping = Atomic<Bool>(false)
    private let lastCalls = Mutex<[String: ChannelStatus]>([:])

    /// The last provider call of a channel, for readiness.
    public struct ChannelStatus: Sendable {
        public var ok: Bool
        public var at: Date
        public var error: String?
    }

    public var channelStatus: [String: ChannelStatus] { lastCalls.withLock { $0 } }

    func noteCall(_ channel: String, ok: Bool, error: String?) {
        let status = ChannelStatus(ok: ok, at: clock(), error: error.map(ChannelLogEntry.redact))
        lastCalls.withLock { $0[channel] = status }
    }

    init(database: AppDatabase, providers: [String: any SMSProvider], client: CurlClient, settings: Settings.OutboxSettings,
         clock: @escaping @Sendable () -> Date, metrics: TiplineMetrics, channelLog: ChannelLogBuffer, logger: Logger) {
        self.channelLog = channelLog
        self.database = database
        self.providers = providers
        self.client = client
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        (wakeups, wakeupContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Something was queued: look at the outbox now rather than at the next poll.
    public func wake() {
        wakeupContinuation.yield()
    }

    public var isRunning: Bool { running.load(ordering: .relaxed) }

    public func run() async throws {
        let requeued = try await database.requeueInterruptedSends(now: clock())
        if requeued > 0 {
            logger.notice("messages interrupted mid-send returned to the queue", metadata: ["count": "\(requeued)"])
        }
        running.store(true, ordering: .relaxed)
        defer { running.store(false, ordering: .relaxed) }
        await withGracefulShutdownHandler {
            var iterator = wakeups.makeAsyncIterator()
            // Each outcome is recorded as its send ends (sends ending together share a transaction), so a crash
            // resends only what was in flight. Sends run `concurrency` at a time without pause: the next claim is
            // made while sends are in flight, once fewer than `concurrency` claimed messages wait to start — not
            // after the last send of a batch is recorded (that barrier held a backlog to a fraction of the
            // provider's rate).
            let recorder = SendRecorder { records in await self.record(records) }
            await withTaskGroup(of: AppDatabase.SendRecord.self) { group in
                var claimed: [OutboundMessage] = []
                var next = 0, inFlight = 0
                var drained = false // the last claim found fewer than it asked for: wait for sends or a wake-up
                while true {
                    let stopping = Task.isShuttingDownGracefully || Task.isCancelled
                    if !stopping, !drained, claimed.count - next < settings.concurrency {
                        do {
                            let limit = settings.concurrency * 4
                            let batch = try await database.claimDueMessages(now: clock(), limit: limit, lease: Self.lease(sendTimeout: settings.sendTimeout),
                                                                            segmentsPerSecond: settings.segmentsPerSecond)
                            claimed.removeFirst(next)
                            next = 0
                            claimed += batch
                            drained = batch.count < limit
                        } catch {
                            logger.error("outbox unreadable; retrying", metadata: ["error": "\(error)"])
                            if inFlight == 0 { try? await Task.sleep(for: .seconds(1)) }
                        }
                    }
                    // Once stopping, what was claimed but not started goes back to the queue untried (`send`).
                    while inFlight < settings.concurrency, next < claimed.count {
                        let message = claimed[next]
                        next += 1
                        inFlight += 1
                        group.addTask { await self.send(message) }
                    }
                    if inFlight == 0 {
                        if stopping { break }
                        await waitForWork(&iterator)
                        drained = false
                        continue
                    }
                    if let record = await group.next() {
                        inFlight -= 1
                        recorder.add(record)
                        if record.deferred { drained = true } // a shutdown gave it back: no more claims
                    }
                }
            }
            await recorder.drained()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.wakeupContinuation.yield()
        }
    }

    /// How long a claim holds before another instance may send its message (a dead instance's): a claimed message
    /// may wait behind four sends ahead of it (claims run `concurrency` × 4 ahead), then send and be recorded.
    static func lease(sendTimeout: Double) -> Double {
        6 * sendTimeout + 5
    }

    /// Sleeps until woken, until the next message falls due, or one second (whichever is first).
    private func waitForWork(_ iterator: inout AsyncStream<Void>.Iterator) async {
        var delay = 1.0
        if let next = try? await database.nextDueDate() {
            delay = min(1.0, max(0.005, next.timeIntervalSince(clock())))
        }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            self.wakeupContinuation.yield()
        }
        _ = await iterator.next()
        timer.cancel()
        // Gather what arrives in the next few milliseconds, so a busy intake makes few large claims, not many small ones.
        if !Task.isShuttingDownGracefully { try? await Task.sleep(for: .milliseconds(10)) }
    }

    /// Sends one message and says what to record.
    func send(_ message: OutboundMessage) async -> AppDatabase.SendRecord {
        var record = await attempt(message)
        record.claim = message.claimToken
        return record
    }

    private func attempt(_ message: OutboundMessage) async -> AppDatabase.SendRecord {
        let id = message.id!
        guard let provider = providers[message.channel] else {
            metrics.outbound(channel: message.channel, state: "undeliverable")
            return .init(id: id, state: .undeliverable, providerMessageID: nil, error: "channel '\(message.channel)' is not configured", nextAttemptAt: nil)
        }
        // The channel's rate limit, booked by the claim for the whole cluster: a short wait here (a longer one went
        // back to the queue); a shutdown puts the message back, untried.
        let start = message.sendAt ?? clock()
        let wait = start.timeIntervalSince(clock())
        if Task.isShuttingDownGracefully {
            return .init(id: id, state: .queued, providerMessageID: nil, error: nil, nextAttemptAt: start, deferred: true)
        }
        if wait > 0.001 {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            if Task.isShuttingDownGracefully {
                return .init(id: id, state: .queued, providerMessageID: nil, error: nil, nextAttemptAt: clock(), deferred: true)
            }
        }
        var request = provider.sendRequest(to: message.recipient, text: message.body)
        request.timeout = .milliseconds(Int(settings.sendTimeout * 1000))
        let started = ContinuousClock.now
        let outcome: SendOutcome
        do {
            let response = try await client.execute(request)
            outcome = provider.interpret(response)
            let seconds = (ContinuousClock.now - started).seconds
            metrics.providerCall(channel: message.channel, status: "\(response.status)", seconds: seconds)
            var error: String?
            if case .retryable(let reason) = outcome { error = reason }
            if case .permanent(let reason) = outcome { error = reason }
            channelLog.record(ChannelLogEntry(at: clock(), channel: message.channel, direction: "out", kind: "send", status: response.status,
                                              latencyMS: seconds * 1000, error: error))
            noteCall(message.channel, ok: (200..<300).contains(response.status) || { if case .permanent = outcome { return true }; return false }(),
                     error: error)
        } catch let error as CurlError {
            outcome = .retryable(error.description)
            let seconds = (ContinuousClock.now - started).seconds
            metrics.providerCall(channel: message.channel, status: "error", seconds: seconds)
            channelLog.record(ChannelLogEntry(at: clock(), channel: message.channel, direction: "out", kind: "send", status: nil,
                                              latencyMS: seconds * 1000, error: error.description))
            noteCall(message.channel, ok: false, error: error.description)
        } catch {
            outcome = .retryable("\(error)")
        }
        let record: AppDatabase.SendRecord
        switch outcome {
        case .accepted(let providerID):
            record = .init(id: id, state: .sent, providerMessageID: providerID, error: nil, nextAttemptAt: nil)
        case .permanent(let reason):
            logger.warning("provider refused a message for good", metadata: [
                "channel": "\(message.channel)", "outbox": "\(id)", "to": "\(PhoneNumber.mask(message.recipient))", "reason": "\(ChannelLogEntry.redact(reason))",
            ])
            record = .init(id: id, state: .failed, providerMessageID: nil, error: reason, nextAttemptAt: nil)
        case .retryable(let reason):
            if message.attempts >= settings.maxAttempts {
                logger.error("message undeliverable after its last try", metadata: [
                    "channel": "\(message.channel)", "outbox": "\(id)", "attempts": "\(message.attempts)", "reason": "\(ChannelLogEntry.redact(reason))",
                ])
                record = .init(id: id, state: .undeliverable, providerMessageID: nil, error: reason, nextAttemptAt: nil)
            } else {
                let backoff = min(settings.maxDelay, settings.baseDelay * pow(2, Double(message.attempts - 1)))
                let delay = backoff * Double.random(in: 0.5...1.0)
                logger.notice("send failed; will retry", metadata: [
                    "channel": "\(message.channel)", "outbox": "\(id)", "attempt": "\(message.attempts)",
                    "retry_in_s": "\(Int(delay.rounded()))", "reason": "\(ChannelLogEntry.redact(reason))",
                ])
                record = .init(id: id, state: .queued, providerMessageID: nil, error: reason, nextAttemptAt: clock().addingTimeInterval(delay))
            }
        }
        metrics.outbound(channel: message.channel, state: record.state.rawValue)
        return record
    }

    /// Records outcomes. They must land: while the daemon runs it retries until the database takes them (backing off
    /// to every 5 s), however long the disk is full or PostgreSQL away — a message left `sending` would otherwise wait
    /// for a restart (SQLite) or a lease (PostgreSQL), and a failed send would not be tried again. Stopping, it gives up
    /// after ten tries: the restart puts the messages back in the queue (SQLite), or another instance takes them when
    /// their lease runs out (PostgreSQL) — at most one more send each, never a loss.
    private func record(_ records: [AppDatabase.SendRecord]) async {
        var attempt = 0
        while true {
            attempt += 1
            do {
                try await database.recordSendOutcomes(records, now: clock())
                return
            } catch {
                logger.error("could not record send outcomes", metadata: ["count": "\(records.count)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt >= 10, stopping.load(ordering: .relaxed) { return }
                try? await Task.sleep(for: .milliseconds(min(200 * attempt, 5000)))
            }
        }
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Group commit for send outcomes: each is handed over as its send ends and written with whatever else ended
/// meanwhile, while the next write gathers.
final class SendRecorder: Sendable {
    private struct State {
        var pending: [AppDatabase.SendRecord] = []
        var writing = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let write: @Sendable ([AppDatabase.SendRecord]) async -> Void

    init(write: @escaping @Sendable ([AppDatabase.SendRecord]) async -> Void) {
        self.write = write
    }

    func add(_ record: AppDatabase.SendRecord) {
        let start = state.withLock { state -> Bool in
            state.pending.append(record)
            guard !state.writing else { return false }
            state.writing = true
            return true
        }
        if start { Task { await self.drain() } }
    }

    /// Returns once every outcome handed over so far is written.
    func drained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { state -> Bool in
                if !state.writing && state.pending.isEmpty { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func drain() async {
        while true {
            // Gather the outcomes that end in the next few milliseconds into the same transaction: a crash then resends
            // at most what was in flight or ended in that window, and the intake keeps the writer most of the time.
            try? await Task.sleep(for: .milliseconds(10))
            let (records, waiters) = state.withLock { state -> ([AppDatabase.SendRecord], [CheckedContinuation<Void, Never>]) in
                let records = state.pending
                state.pending.removeAll()
                if records.isEmpty {
                    state.writing = false
                    let waiters = state.waiters
                    state.waiters.removeAll()
                    return ([], waiters)
                }
                return (records, [])
            }
            if records.isEmpty {
                for waiter in waiters { waiter.resume() }
                return
            }
            await write(records)
        }
    }
}
