import Foundation
import GRDB
import Logging
import Synchronization
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
    var metrics: TiplineMetrics?
    /// A case was passed on: run the escalation now rather than at its next tick.
    var onEscalate: @Sendable () -> Void = {}
    let logger: Logger

    public enum Outcome: Sendable, Equatable {
        /// Stored; the report it opened or touched, when any.
        case stored(report: Int?)
        /// The provider sent this message id before: acknowledged, not stored again.
        case duplicate
    }

    /// Stores and handles one inbound message, exactly once per provider message id.
    public func receive(_ sms: InboundSMS, channel: String, via: String = "sms") async throws -> Outcome {
        if let part = sms.part, part.total > 1 {
            return try await receivePart(sms, part: part, channel: channel)
        }
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
            report = Report(parsed: parsed, channel: channel, via: via, reporter: sender, text: sms.text, receivedAt: now,
                            provinceCode: current.gazetteer.provinceCode(of: parsed.origin))
        }
        let prepared = report
        let (outcome, refused) = try await batcher.write { db in
            var handler = MessageHandler(db: db, deployment: current, now: now, sender: sender, channel: channel,
                                         replyChannel: replyChannel, via: via)
            let outcome = try handler.handle(inbound, parsed: parsed, report: prepared)
            return (outcome, handler.refusedOfficerCommand)
        }
        if let refused {
            logger.notice("officer command from a number not in the roster", metadata: [
                "command": "\(refused.rawValue)", "from": "\(PhoneNumber.mask(sender))", "channel": "\(channel)",
            ])
        }
        switch outcome {
        case .duplicate:
            logger.debug("duplicate inbound message", metadata: ["channel": "\(channel)"])
        case .stored(let report):
            metrics?.inbound(channel: channel, kind: parsed.kind.rawValue)
            metrics?.parse(outcome: parsed.kind == .command ? "command" : parsed.kind == .unknown ? "unknown"
                           : parsed.missing.isEmpty ? "complete" : "partial")
            logger.info("inbound message stored", metadata: [
                "channel": "\(channel)", "kind": "\(parsed.kind.rawValue)",
                "command": "\(parsed.command?.rawValue ?? "-")", "report": "\(report.map(String.init) ?? "-")",
                "from": "\(PhoneNumber.mask(sender))",
            ])
            onQueued()
            if parsed.command == .pass { onEscalate() }
        }
        return outcome
    }
}

extension Intake {
    /// One part of a long message (Vonage `concat`): stored at once (so it is acknowledged and never lost); when the
    /// last part arrives, in any order and even twice, the parts are joined in order and handled as one message.
    func receivePart(_ sms: InboundSMS, part: InboundSMS.Part, channel: String) async throws -> Outcome {
        let now = clock()
        let current = deployment.current
        let sender = PhoneNumber.normalise(sms.from) ?? sms.from
        let replyChannel = current.settings.channels[channel] != nil ? channel : current.settings.outboundChannel
        let outcome = try await batcher.write { db -> Outcome in
            try db.execute(sql: """
                INSERT OR IGNORE INTO inbound_part (channel, sender, reference, total, number, text, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [channel, sender, part.reference, part.total, part.number, sms.text, now])
            guard db.changesCount == 1 else { return .duplicate }
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM inbound_part WHERE channel = ? AND sender = ? AND reference = ?",
                                         arguments: [channel, sender, part.reference]) ?? 0
            guard count >= part.total else { return .stored(report: nil) }
            return try Self.assemble(db, channel: channel, sender: sender, reference: part.reference, recipient: sms.to,
                                     deployment: current, replyChannel: replyChannel, now: now)
        }
        if case .stored(let report?) = outcome {
            logger.info("multi-part message assembled", metadata: ["channel": "\(channel)", "report": "\(report)"])
            onQueued()
        }
        return outcome
    }

    /// Joins the stored parts of one message in order, deletes them, and handles the whole text.
    static func assemble(_ db: Database, channel: String, sender: String, reference: String, recipient: String?,
                         deployment: Deployment, replyChannel: String, now: Date) throws -> Outcome {
        let texts = try String.fetchAll(db, sql: """
            SELECT text FROM inbound_part WHERE channel = ? AND sender = ? AND reference = ? ORDER BY number
            """, arguments: [channel, sender, reference])
        try db.execute(sql: "DELETE FROM inbound_part WHERE channel = ? AND sender = ? AND reference = ?",
                       arguments: [channel, sender, reference])
        let text = texts.joined()
        let parsed = deployment.parser.parse(text, receivedAt: now)
        let inbound = InboundMessage(channel: channel, providerMessageID: "concat:\(sender):\(reference)", sender: sender,
                                     recipient: recipient, body: text, receivedAt: now)
        var handler = MessageHandler(db: db, deployment: deployment, now: now, sender: sender, channel: channel,
                                     replyChannel: replyChannel, via: "sms")
        let report = parsed.kind == .command ? nil
            : Report(parsed: parsed, channel: channel, reporter: sender, text: text, receivedAt: now,
                     provinceCode: deployment.gazetteer.provinceCode(of: parsed.origin))
        return try handler.handle(inbound, parsed: parsed, report: report)
    }

    /// Messages whose first part arrived before `cutoff` and which are still incomplete are parsed as they are.
    public func assembleStaleParts(olderThan cutoff: Date) async throws -> Int {
        let current = deployment.current
        let now = clock()
        let count = try await batcher.write { db -> Int in
            let groups = try Row.fetchAll(db, sql: """
                SELECT channel, sender, reference FROM inbound_part GROUP BY channel, sender, reference HAVING MIN(received_at) < ?
                """, arguments: [cutoff])
            for group in groups {
                let channel: String = group["channel"]
                let replyChannel = current.settings.channels[channel] != nil ? channel : current.settings.outboundChannel
                _ = try Self.assemble(db, channel: channel, sender: group["sender"], reference: group["reference"], recipient: nil,
                                      deployment: current, replyChannel: replyChannel, now: now)
            }
            return groups.count
        }
        if count > 0 { onQueued() }
        return count
    }
}

/// The deployment in force; replaced as a whole when the roster and replies are reloaded (SIGHUP).
public final class DeploymentHolder: Sendable {
    private let value: Mutex<Deployment>
    public init(_ deployment: Deployment) { value = Mutex(deployment) }
    public var current: Deployment { value.withLock { $0 } }
    public func replace(_ deployment: Deployment) { value.withLock { $0 = deployment } }
}

