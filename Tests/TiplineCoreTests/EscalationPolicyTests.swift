import Foundation
import Testing
@testable import TiplineCore

@Suite("Escalation policy")
struct EscalationPolicyTests {
    typealias Position = EscalationPolicy.Position

    let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh")!
    /// Urgent 15 min then 30 min, repeated twice; normal 2 h then 24 h, no repeat, 21:00–07:00 quiet.
    var policy: EscalationPolicy { .standard(timeZone: zone) }

    /// 2026-11-30 is a Monday.
    func at(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    /// Every step from the first routing until the repeats are used up: each position and the time since the previous step.
    func climb(urgent: Bool, from start: Date, using custom: EscalationPolicy? = nil) -> [(Position, TimeInterval)] {
        let policy = custom ?? self.policy
        var position = Position(level: 0, round: 0)
        var now = start
        var taken: [(Position, TimeInterval)] = []
        while taken.count < 20, let (next, due) = policy.next(after: position, urgent: urgent, from: now) {
            taken.append((next, due.timeIntervalSince(now)))
            position = next
            now = due
        }
        return taken
    }

    @Test("an urgent report climbs the levels, repeats them twice, then stops for a call")
    func urgentRounds() {
        // 02:00 is inside the quiet hours: urgent reports ignore them.
        let steps = climb(urgent: true, from: at("2026-11-30T02:00:00+07:00"))
        #expect(steps.map { $0.0 } == [
            Position(level: 1, round: 0), Position(level: 2, round: 0),
            Position(level: 1, round: 1), Position(level: 2, round: 1),
            Position(level: 1, round: 2), Position(level: 2, round: 2),
        ])
        let delays: [TimeInterval] = steps.map { $0.1 }
        #expect(delays == [900, 1800, 900, 1800, 900, 1800])
        #expect(policy.next(after: Position(level: 2, round: 2), urgent: true, from: Date()).map { $0.0 } == nil, "call now")
    }

    @Test("a normal tip climbs the levels once, in the daytime")
    func normalTrack() throws {
        let start = at("2026-11-30T09:00:00+07:00")
        let (first, firstDue) = try #require(policy.next(after: Position(level: 0, round: 0), urgent: false, from: start))
        #expect(first == Position(level: 1, round: 0))
        #expect(firstDue == at("2026-11-30T11:00:00+07:00"))
        let (second, secondDue) = try #require(policy.next(after: first, urgent: false, from: firstDue))
        #expect(second == Position(level: 2, round: 0))
        #expect(secondDue == at("2026-12-01T11:00:00+07:00"))
        #expect(policy.next(after: second, urgent: false, from: secondDue).map { $0.0 } == nil, "no repeat on the normal track")
    }

    @Test("a normal step due in the quiet hours waits for their end; an urgent one does not")
    func quietHoursDelayNormalSteps() throws {
        let evening = at("2026-11-30T20:00:00+07:00")
        let (_, normalDue) = try #require(policy.next(after: Position(level: 0, round: 0), urgent: false, from: evening))
        #expect(normalDue == at("2026-12-01T07:00:00+07:00"), "due 22:00, sent at 07:00 the next morning")
        let (_, urgentDue) = try #require(policy.next(after: Position(level: 0, round: 0), urgent: true, from: evening))
        #expect(urgentDue == at("2026-11-30T20:15:00+07:00"))

        let night = at("2026-11-30T03:00:00+07:00")
        let (_, morning) = try #require(policy.next(after: Position(level: 0, round: 0), urgent: false, from: night))
        #expect(morning == at("2026-11-30T07:00:00+07:00"), "due 05:00, sent at 07:00 the same morning")
    }

    @Test("outsideQuietHours moves an instant inside 21:00–07:00 to 07:00, and leaves the rest alone")
    func outsideQuietHours() {
        let cases = [
            ("2026-11-30T20:59:00+07:00", "2026-11-30T20:59:00+07:00"),
            ("2026-11-30T21:00:00+07:00", "2026-12-01T07:00:00+07:00"),
            ("2026-11-30T23:30:00+07:00", "2026-12-01T07:00:00+07:00"),
            ("2026-12-01T00:00:00+07:00", "2026-12-01T07:00:00+07:00"),
            ("2026-12-01T06:59:00+07:00", "2026-12-01T07:00:00+07:00"),
            ("2026-12-01T07:00:00+07:00", "2026-12-01T07:00:00+07:00"),
            ("2026-12-01T12:00:00+07:00", "2026-12-01T12:00:00+07:00"),
        ]
        for (instant, expected) in cases {
            #expect(policy.outsideQuietHours(at(instant), urgent: false) == at(expected), "\(instant)")
            #expect(policy.outsideQuietHours(at(instant), urgent: true) == at(instant), "never for urgent reports: \(instant)")
        }
    }

    @Test("quiet hours within one day end the same day; equal start and end mean none")
    func daytimeQuietHours() {
        var custom = policy
        custom.normal.quietHours = (12 * 60, 13 * 60 + 30)
        #expect(custom.outsideQuietHours(at("2026-11-30T12:45:00+07:00"), urgent: false) == at("2026-11-30T13:30:00+07:00"))
        #expect(custom.outsideQuietHours(at("2026-11-30T13:30:00+07:00"), urgent: false) == at("2026-11-30T13:30:00+07:00"))
        #expect(custom.outsideQuietHours(at("2026-11-30T11:59:00+07:00"), urgent: false) == at("2026-11-30T11:59:00+07:00"))
        custom.normal.quietHours = (8 * 60, 8 * 60)
        #expect(custom.outsideQuietHours(at("2026-11-30T08:00:00+07:00"), urgent: false) == at("2026-11-30T08:00:00+07:00"))
        custom.normal.quietHours = nil
        #expect(custom.outsideQuietHours(at("2026-11-30T23:00:00+07:00"), urgent: false) == at("2026-11-30T23:00:00+07:00"))
    }

    @Test("quiet hours are read in the policy's time zone")
    func quietHoursInTimeZone() {
        // 16:00 UTC is 23:00 in Vietnam.
        #expect(policy.outsideQuietHours(at("2026-11-30T16:00:00Z"), urgent: false) == at("2026-12-01T07:00:00+07:00"))
        let utc = EscalationPolicy.standard(timeZone: TimeZone(identifier: "UTC")!)
        #expect(utc.outsideQuietHours(at("2026-11-30T16:00:00Z"), urgent: false) == at("2026-11-30T16:00:00Z"))
    }

    @Test("each level alerts its own targets; the first routing and missing levels none")
    func targets() {
        #expect(policy.targets(of: Position(level: 0, round: 0), urgent: true) == [])
        #expect(policy.targets(of: Position(level: 1, round: 0), urgent: true) == [.commune])
        #expect(policy.targets(of: Position(level: 2, round: 1), urgent: true) == [.province])
        #expect(policy.targets(of: Position(level: 3, round: 0), urgent: true) == [])
        #expect(policy.targets(of: Position(level: -1, round: 0), urgent: false) == [])

        let custom = EscalationPolicy(
            urgent: .init(levels: [.init(delay: 600, targets: [.commune]), .init(delay: 1200, targets: [.province, .hotline])],
                          repeats: 0, reminderAfter: 3600),
            normal: .init(levels: [.init(delay: 3600, targets: [.hotline])], repeats: 1, reminderAfter: 7200),
            timeZone: zone
        )
        #expect(custom.targets(of: Position(level: 2, round: 0), urgent: true) == [.province, .hotline])
        #expect(custom.targets(of: Position(level: 1, round: 1), urgent: false) == [.hotline])
        #expect(custom.targets(of: Position(level: 2, round: 0), urgent: false) == [])
    }

    @Test("a one-level track repeats that level; a track without levels never escalates")
    func shortTracks() {
        let custom = EscalationPolicy(
            urgent: .init(levels: [], repeats: 3, reminderAfter: 3600),
            normal: .init(levels: [.init(delay: 3600, targets: [.hotline])], repeats: 1, reminderAfter: 7200),
            timeZone: zone
        )
        let steps = climb(urgent: false, from: at("2026-11-30T09:00:00+07:00"), using: custom)
        #expect(steps.map { $0.0 } == [Position(level: 1, round: 0), Position(level: 1, round: 1)])
        #expect(steps.map { $0.1 } == [3600, 3600])
        #expect(custom.next(after: Position(level: 0, round: 0), urgent: true, from: Date()).map { $0.0 } == nil)
    }

    @Test("a level below 0 counts as the first routing")
    func negativeLevel() throws {
        let start = at("2026-11-30T09:00:00+07:00")
        let (next, due) = try #require(policy.next(after: Position(level: -3, round: 0), urgent: true, from: start))
        #expect(next == Position(level: 1, round: 0))
        #expect(due == at("2026-11-30T09:15:00+07:00"))
    }

    @Test("each track has its own reminder delay")
    func reminderAfter() {
        #expect(policy.track(urgent: true).reminderAfter == 24 * 3600)
        #expect(policy.track(urgent: false).reminderAfter == 72 * 3600)
        #expect(policy.track(urgent: true) == policy.urgent)
        #expect(policy.track(urgent: false) == policy.normal)
        #expect(policy.urgent.quietHours.map { $0.start } == nil)
        #expect(policy.normal.quietHours?.start == 21 * 60 && policy.normal.quietHours?.end == 7 * 60)
    }
}
