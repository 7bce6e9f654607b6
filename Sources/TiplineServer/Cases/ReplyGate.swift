import Foundation
import TiplineCore
import TiplineStore

/// Limits on what one number can make tipline send — SMS pumping, floods, reply loops — kept as on-call systems keep
/// them. Messages are always stored and visible to staff; only the SMS answers are held back.
public struct AbuseLimits: Sendable, Equatable {
    /// Messages one sender may send in `inboundWindow` and still be answered; the next gets one "slow down" answer,
    /// those after it none (until the window has passed).
    public var inboundPerSender = 10
    public var inboundWindow: TimeInterval = 600
    /// Answers (not officers' alerts) to one number in an hour, at most.
    public var smsPerRecipientPerHour = 20
    /// Country calling codes answers may go to (others are stored, never answered: no SMS pumping abroad).
    public var replyCountryCodes: [String] = ["84"]
    /// Unreadable messages from one sender in a day after which they are no longer answered.
    public var unreadableBeforeSilence = 3

    public init() {}
}

/// What one inbound message may make tipline send back: decided once per message, consulted for every SMS the
/// case workflow queues.
final class ReplyGate {
    enum Standing: Equatable {
        case answered
        /// Over the sender limit by one: the answer is replaced by one "slow down" notice.
        case slowDown
        /// No answer: over the limit, answering abroad, or after repeated unreadable messages.
        case silent(String)
    }

    let sender: String?
    let limits: AbuseLimits
    private(set) var standing: Standing
    /// Why answers were held back, for the metrics.
    private(set) var suppressed: [String] = []

    init(limits: AbuseLimits, sender: String? = nil, standing: Standing = .answered) {
        self.limits = limits
        self.sender = sender
        self.standing = standing
    }

    /// The standing of the sender of a message just stored (and counted).
    static func evaluate(_ store: CaseStore, limits: AbuseLimits, sender: String, isOfficer: Bool, unreadable: Bool, now: Date) throws -> ReplyGate {
        let gate = ReplyGate(limits: limits, sender: sender)
        guard !isOfficer else { return gate }
        if !gate.reachable(sender) {
            gate.standing = .silent("country")
            return gate
        }
        let recent = try store.inboundCount(from: sender, since: now.addingTimeInterval(-limits.inboundWindow))
        if recent > limits.inboundPerSender + 1 {
            gate.standing = .silent("sender_rate")
        } else if recent == limits.inboundPerSender + 1 {
            gate.standing = .slowDown
        } else if unreadable, try store.unreadableCount(from: sender, since: now.addingTimeInterval(-86400)) >= limits.unreadableBeforeSilence {
            gate.standing = .silent("unreadable")
        }
        return gate
    }

    /// Whether answers may go to a number at all: its country code is in the allow-list.
    func reachable(_ phone: String) -> Bool {
        limits.replyCountryCodes.isEmpty || limits.replyCountryCodes.contains { phone.hasPrefix("+" + $0) }
    }

    /// The text to send instead of `text` to `phone`, or nil to send nothing. Alerts to officers never pass here.
    /// `capped`: the per-recipient cap applies (not to roster officers, whose answers to commands must not stop).
    func admit(_ text: String, to phone: String, store: CaseStore, now: Date, force: Bool, capped: Bool = true,
               slowDownText: () -> String) throws -> String? {
        guard reachable(phone) else { return hold("country") }
        if phone == sender {
            switch standing {
            case .answered: break
            case .slowDown:
                standing = .silent("sender_rate") // one notice per message, then silence
                return slowDownText()
            case .silent(let reason):
                if !force { return hold(reason) }
            }
        }
        if !force, capped, try store.answerCount(to: phone, since: now.addingTimeInterval(-3600)) >= limits.smsPerRecipientPerHour {
            return hold("recipient_rate")
        }
        return text
    }

    private func hold(_ reason: String) -> String? {
        suppressed.append(reason)
        return nil
    }
}
