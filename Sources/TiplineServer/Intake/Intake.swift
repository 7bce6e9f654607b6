import Foundation
import GRDB
import Logging
import TiplineCore
import TiplineProviders
import TiplineStore

/// The intake path: a provider's message becomes a stored, numbered, routed report with its replies queued —
/// all in one write transaction, committed before the webhook is answered.
///
/// Parsing and everything else that needs no database runs before the write; writes from concurrent webhooks
/// share transactions through ``WriteBatcher`` (group commit).
public struct Intake: Sendable {
    let deployment: DeploymentHolder
    let database: AppDatabase
    let batcher: WriteBatcher
    let clock: @Sendable () -> Date
    let onQueued: @Sendable () -> Void
    let logger: Logger

    public enum Outcome: Sendable, Equatable {
        /// Stored; the report it opened or touched, when any.
        case stored(report: Int?)
        /// The provider sent this message id before: acknowledged, not stored again.
        case duplicate
    }

    /// Stores and handles one inbound message, exactly once per provider message id.
    public func receive(_ sms: InboundSMS, channel: String, via: String = "sms") async throws -> Outcome {
        let now = clock()
        let current = deployment.current
        let sender = PhoneNumber.normalise(sms.from) ?? sms.from
        let parsed = current.parser.parse(sms.text, receivedAt: now)
        let inbound = InboundMessage(channel: channel, providerMessageID: sms.providerMessageID, sender: sender,
                                     recipient: sms.to, body: sms.text, receivedAt: now, via: via)
        let replyChannel = current.settings.channels[channel] != nil ? channel : current.settings.outboundChannel
        // Everything that needs no database is done here, outside the single writer.
        var report: Report?
        if parsed.kind != .command {
            let area = parsed.origin.areaCode.flatMap(current.gazetteer.area(code:))
            report = Report(parsed: parsed, channel: channel, via: via, reporter: sender, text: sms.text, receivedAt: now,
                            provinceCode: area?.provinceCode)
        }
        let prepared = report
        let outcome = try await batcher.write { db in
            var handler = MessageHandler(db: db, deployment: current, now: now, sender: sender, channel: channel,
                                         replyChannel: replyChannel, via: via)
            return try handler.handle(inbound, parsed: parsed, report: prepared)
        }
        switch outcome {
        case .duplicate:
            logger.debug("duplicate inbound message", metadata: ["channel": "\(channel)"])
        case .stored(let report):
            logger.info("inbound message stored", metadata: [
                "channel": "\(channel)", "kind": "\(parsed.kind.rawValue)",
                "command": "\(parsed.command?.rawValue ?? "-")", "report": "\(report.map(String.init) ?? "-")",
                "from": "\(PhoneNumber.mask(sender))",
            ])
            onQueued()
        }
        return outcome
    }
}

/// The deployment in force; replaced as a whole when the roster and replies are reloaded (SIGHUP).
public final class DeploymentHolder: Sendable {
    private let value: Mutex<Deployment>
    public init(_ deployment: Deployment) { value = Mutex(deployment) }
    public var current: Deployment { value.withLock { $0 } }
    public func replace(_ deployment: Deployment) { value.withLock { $0 = deployment } }
}

import Synchronization
