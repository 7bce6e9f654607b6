import Foundation
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
        var inbound = InboundMessage(channel: channel, providerMessageID: sms.providerMessageID, sender: sender,
                                     recipient: sms.to, body: sms.text, receivedAt: now, via: via)
        // Everything that needs no database is done here, outside the single writer — sealing the personal values too.
        try inbound.seal(with: database.cipher)
        var report: Report?
        if parsed.kind != .command {
            report = Report(parsed: parsed, channel: channel, via: via, reporter: sender, text: sms.text, receivedAt: now,
                            provinceCode: current.gazetteer.provinceCode(of: parsed.origin))
            try report?.seal(with: database.cipher)
        }
        let prepared = report
        let sealedInbound = inbound
        let (outcome, refused, withheld) = try await batcher.write { store in
            var handler = MessageHandler(store: store, deployment: current, now: now, sender: sender, channel: channel, via: via)
            let outcome = try handler.handle(sealedInbound, parsed: parsed, report: prepared)
            return (outcome, handler.refusedOfficerCommand, handler.gate?.suppressed ?? [])
        }
        for reason in withheld { metrics?.replyWithheld(reason: reason) }
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
    /// Parts are told apart by their own provider message ids, so a later message that reuses a concatenation
    /// reference is a new message, and a retried part is a duplicate.
    func receivePart(_ sms: InboundSMS, part: InboundSMS.Part, channel: String) async throws -> Outcome {
        let now = clock()
        let current = deployment.current
        let sender = PhoneNumber.normalise(sms.from) ?? sms.from
        let outcome = try await batcher.write { store -> Outcome in
            guard try store.insertPart(channel: channel, sender: sender, reference: part.reference, total: part.total, number: part.number,
                                       text: sms.text, providerMessageID: sms.providerMessageID, at: now) else { return .duplicate }
            let parts = try store.pendingParts(channel: channel, sender: sender, reference: part.reference)
            guard parts.count >= part.total else { return .stored(report: nil) }
            return try Self.assemble(store, parts: parts, channel: channel, sender: sender, reference: part.reference, recipient: sms.to,
                                     deployment: current, now: now)
        }
        if case .stored(let report?) = outcome {
            logger.info("multi-part message assembled", metadata: ["channel": "\(channel)", "report": "\(report)"])
            onQueued()
        }
        return outcome
    }

    /// Joins the stored parts of one message in order, marks them assembled, and handles the whole text.
    static func assemble(_ store: CaseStore, parts: [CaseStore.Part], channel: String, sender: String,
                         reference: String, recipient: String?, deployment: Deployment, now: Date) throws -> Outcome {
        try store.markPartsAssembled(channel: channel, sender: sender, reference: reference)
        let text = parts.map(\.text).joined()
        let parsed = deployment.parser.parse(text, receivedAt: now)
        // The first part's own id names the whole message: unique even when the reference is used again later.
        let inbound = InboundMessage(channel: channel, providerMessageID: "concat:\(parts.first?.providerMessageID ?? reference)", sender: sender,
                                     recipient: recipient, body: text, receivedAt: now)
        var handler = MessageHandler(store: store, deployment: deployment, now: now, sender: sender, channel: channel, via: "sms")
        return try handler.handle(inbound, parsed: parsed, report: nil)
    }

    /// Messages whose first part arrived before `cutoff` and which are still incomplete are parsed as they are.
    public func assembleStaleParts(olderThan cutoff: Date) async throws -> Int {
        let current = deployment.current
        let now = clock()
        let count = try await batcher.write { store -> Int in
            let groups = try store.staleParts(before: cutoff)
            for group in groups {
                let parts = try store.pendingParts(channel: group.channel, sender: group.sender, reference: group.reference)
                _ = try Self.assemble(store, parts: parts, channel: group.channel, sender: group.sender, reference: group.reference,
                                      recipient: nil, deployment: current, now: now)
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

