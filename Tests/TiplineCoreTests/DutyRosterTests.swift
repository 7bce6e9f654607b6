import Foundation
import Testing
@testable import TiplineCore

@Suite("Duty roster")
struct DutyRosterTests {
    let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh")!
    let lungCu = Area(code: "715", name: "Xã Lũng Cú", province: "Tuyên Quang", provinceCode: "8")
    let unknownCommune = Area(code: "999", name: "Xã Khác", province: "Tuyên Quang", provinceCode: "8")

    /// 2026-11-30 is a Monday.
    func at(_ text: String) -> Date {
        ISO8601DateFormatter().date(from: text)!
    }

    func roster(_ officers: [Officer]) -> DutyRoster { DutyRoster(officers: officers, timeZone: zone) }

    @Test("a day shift covers its hours on its days only")
    func dayShift() {
        let officer = Officer(id: "a", name: "A", phone: "+84900000101", role: .officer, areas: ["715"],
                              shifts: [Shift(days: [1, 2, 3, 4, 5], start: 7 * 60 + 30, end: 17 * 60)])
        #expect(officer.isOnDuty(at: at("2026-11-30T08:00:00+07:00"), in: zone))
        #expect(!officer.isOnDuty(at: at("2026-11-30T17:00:00+07:00"), in: zone))
        #expect(!officer.isOnDuty(at: at("2026-11-29T10:00:00+07:00"), in: zone), "Sunday")
    }

    @Test("a night shift runs past midnight, and past the week's end")
    func nightShift() {
        let officer = Officer(id: "n", name: "N", phone: "+84900000102", role: .officer, areas: ["715"],
                              shifts: [Shift(days: [7], start: 22 * 60, end: 6 * 60)])
        #expect(officer.isOnDuty(at: at("2026-11-29T23:00:00+07:00"), in: zone), "Sunday night")
        #expect(officer.isOnDuty(at: at("2026-11-30T05:59:00+07:00"), in: zone), "Monday early morning")
        #expect(!officer.isOnDuty(at: at("2026-11-30T06:00:00+07:00"), in: zone))
        #expect(!officer.isOnDuty(at: at("2026-11-30T23:00:00+07:00"), in: zone), "Monday night is not a Sunday shift")
    }

    @Test("dated exceptions override the weekly shifts")
    func exceptions() {
        let leave = DutyException(from: LocalDate(year: 2026, month: 11, day: 30), to: LocalDate(year: 2026, month: 12, day: 1), onDuty: false)
        let officer = Officer(id: "a", name: "A", phone: "+84900000101", role: .officer, areas: ["715"], exceptions: [leave])
        #expect(!officer.isOnDuty(at: at("2026-11-30T10:00:00+07:00"), in: zone))
        #expect(officer.isOnDuty(at: at("2026-12-02T10:00:00+07:00"), in: zone))
    }

    @Test("routing falls back from the commune to the province's supervisors to hotline")
    func fallback() {
        let officer = Officer(id: "o", name: "O", phone: "+84900000101", role: .officer, areas: ["715"],
                              shifts: [Shift(days: [1], start: 8 * 60, end: 9 * 60)])
        let supervisor = Officer(id: "s", name: "S", phone: "+84900000110", role: .supervisor, provinces: ["8"])
        let hotline = Officer(id: "h", name: "H", phone: "+84900000199", role: .hotline)
        let roster = roster([officer, supervisor, hotline])
        #expect(roster.route(area: lungCu, at: at("2026-11-30T08:30:00+07:00")).officers.map(\.id) == ["o"])
        let offHours = roster.route(area: lungCu, at: at("2026-11-30T10:00:00+07:00"))
        #expect(offHours.level == .province)
        #expect(offHours.officers.map(\.id) == ["s"])
        #expect(roster.route(area: nil, at: at("2026-11-30T10:00:00+07:00")).level == .hotline)
        #expect(roster.route(area: lungCu, at: at("2026-11-30T10:00:00+07:00"), extraOnDuty: ["o"]).level == .commune, "TRUC")
        #expect(roster.route(area: lungCu, at: at("2026-11-30T08:30:00+07:00"), offDuty: ["o"]).level == .province, "NGHI")
    }
}

@Suite("Duty roster properties")
struct DutyRosterPropertyTests {
    /// A small deterministic generator, so a failure can be replayed.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test("on duty exactly when the instant falls in one of the shifts laid out on the calendar", arguments: [1, 2, 3, 42, 2026])
    func shiftsMatchACalendarLayout(seed: UInt64) {
        let zone = TimeZone(identifier: "Asia/Ho_Chi_Minh")!
        var random = Generator(state: seed)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        // Monday 2026-11-30 00:00 local, and three weeks of instants from the Sunday before.
        let monday = ISO8601DateFormatter().date(from: "2026-11-30T00:00:00+07:00")!
        for _ in 0..<40 {
            let shifts = (0..<(1 + random.next(3))).map { _ -> Shift in
                let days = Set((0..<(1 + random.next(4))).map { _ in 1 + random.next(7) })
                let start = random.next(48) * 30
                var end = random.next(48) * 30
                if end == start { end = (start + 30) % 1440 }
                return Shift(days: days, start: start, end: end)
            }
            let officer = Officer(id: "x", name: "X", phone: "+84900000101", role: .officer, areas: ["715"], shifts: shifts)
            // The reference: every shift as absolute intervals, starting the week before so night shifts carry over.
            var intervals: [(Date, Date)] = []
            for week in -1...2 {
                for shift in shifts {
                    for day in shift.days {
                        let dayStart = calendar.date(byAdding: .day, value: week * 7 + day - 1, to: monday)!
                        let begin = dayStart.addingTimeInterval(Double(shift.start) * 60)
                        let length = shift.end > shift.start ? shift.end - shift.start : shift.end + 1440 - shift.start
                        intervals.append((begin, begin.addingTimeInterval(Double(length) * 60)))
                    }
                }
            }
            for _ in 0..<200 {
                let instant = monday.addingTimeInterval(Double(random.next(14 * 1440)) * 60 - 86400)
                let expected = intervals.contains { $0.0 <= instant && instant < $0.1 }
                #expect(officer.isOnDuty(at: instant, in: zone) == expected, "shifts \(shifts) at \(instant)")
            }
        }
    }
}
