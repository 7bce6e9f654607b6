import Foundation

/// When and to whom an unacknowledged report escalates. Pure: the caller supplies the time.
///
/// Level 0 is the first routing (the officers on duty for the commune). Each configured level follows the previous
/// one after its delay; after the last, the levels repeat up to `repeats` times, and then the case is marked
/// "call now" for hotline staff. Normal tips escalate only outside the quiet hours.
public struct EscalationPolicy: Sendable, Equatable {
    public enum Target: String, Sendable, CaseIterable {
        /// Every officer covering the commune not alerted yet, on duty or not.
        case commune
        /// The province's supervisors.
        case province
        /// Hotline staff.
        case hotline
    }

    public struct Level: Sendable, Equatable {
        /// Time after the previous level (or the report) before this one.
        public var delay: TimeInterval
        public var targets: [Target]
        public init(delay: TimeInterval, targets: [Target]) {
            self.delay = delay
            self.targets = targets
        }
    }

    public struct Track: Sendable, Equatable {
        public var levels: [Level]
        /// How many times the levels repeat after the first pass.
        public var repeats: Int
        /// Local minutes after midnight when no alert is sent (start, end); nil for none.
        public var quietHours: (start: Int, end: Int)?
        /// An acknowledged case with no update for this long gets a reminder, then escalates.
        public var reminderAfter: TimeInterval

        public init(levels: [Level], repeats: Int, quietHours: (start: Int, end: Int)? = nil, reminderAfter: TimeInterval) {
            self.levels = levels
            self.repeats = repeats
            self.quietHours = quietHours
            self.reminderAfter = reminderAfter
        }

        public static func == (a: Track, b: Track) -> Bool {
            a.levels == b.levels && a.repeats == b.repeats && a.quietHours?.start == b.quietHours?.start
                && a.quietHours?.end == b.quietHours?.end && a.reminderAfter == b.reminderAfter
        }
    }

    public var urgent: Track
    public var normal: Track
    public var timeZone: TimeZone

    public init(urgent: Track, normal: Track, timeZone: TimeZone) {
        self.urgent = urgent
        self.normal = normal
        self.timeZone = timeZone
    }

    /// The sample policy: urgent 15 min then 30 min, repeated twice; normal 2 h then 24 h, 21:00–07:00 quiet.
    public static func standard(timeZone: TimeZone) -> EscalationPolicy {
        EscalationPolicy(
            urgent: Track(levels: [Level(delay: 15 * 60, targets: [.commune]), Level(delay: 30 * 60, targets: [.province])],
                          repeats: 2, reminderAfter: 24 * 3600),
            normal: Track(levels: [Level(delay: 2 * 3600, targets: [.commune]), Level(delay: 24 * 3600, targets: [.province])],
                          repeats: 0, quietHours: (21 * 60, 7 * 60), reminderAfter: 72 * 3600),
            timeZone: timeZone
        )
    }

    public func track(urgent isUrgent: Bool) -> Track { isUrgent ? urgent : normal }

    /// Where a report stands in its escalation.
    public struct Position: Sendable, Equatable {
        /// 0 is the first routing; 1… the configured levels.
        public var level: Int
        /// 0 on the first pass, 1… on each repeat.
        public var round: Int
        public init(level: Int, round: Int) {
            self.level = level
            self.round = round
        }
    }

    /// What follows `position`: the next level and when it is due, or nil when the repeats are used up (call now).
    ///
    /// A level below 0 counts as the first routing.
    public func next(after position: Position, urgent isUrgent: Bool, from instant: Date) -> (Position, Date)? {
        let track = track(urgent: isUrgent)
        guard !track.levels.isEmpty else { return nil }
        var next = Position(level: max(position.level, 0) + 1, round: position.round)
        if next.level > track.levels.count {
            guard position.round < track.repeats else { return nil }
            next = Position(level: 1, round: position.round + 1)
        }
        let due = instant.addingTimeInterval(track.levels[next.level - 1].delay)
        return (next, outsideQuietHours(due, urgent: isUrgent))
    }

    /// Who the level at `position` alerts: nobody for the first routing (level 0) or a level the track does not have.
    public func targets(of position: Position, urgent isUrgent: Bool) -> [Target] {
        let track = track(urgent: isUrgent)
        guard position.level >= 1, position.level <= track.levels.count else { return [] }
        return track.levels[position.level - 1].targets
    }

    /// `instant`, or the end of the quiet hours when it falls inside them (never for urgent reports).
    public func outsideQuietHours(_ instant: Date, urgent isUrgent: Bool) -> Date {
        guard !isUrgent, let quiet = normal.quietHours, quiet.start != quiet.end else { return instant }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let parts = calendar.dateComponents([.hour, .minute], from: instant)
        let minutes = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        let inside = quiet.start < quiet.end
            ? (minutes >= quiet.start && minutes < quiet.end)
            : (minutes >= quiet.start || minutes < quiet.end)
        guard inside else { return instant }
        let startOfDay = calendar.startOfDay(for: instant)
        var end = startOfDay.addingTimeInterval(Double(quiet.end) * 60)
        if end <= instant {
            let nextDay = calendar.date(byAdding: .day, value: 1, to: startOfDay) ?? startOfDay.addingTimeInterval(24 * 3600)
            end = nextDay.addingTimeInterval(Double(quiet.end) * 60)
        }
        return end
    }
}
