import Foundation
import Testing
import TiplineCore
@testable import TiplineServer

@Suite("Reply catalogue")
struct RepliesTests {
    @Test("every catalogue reply is GSM-7 and at most 160 characters with its placeholders at their longest")
    func catalogueFitsOneSegment() throws {
        let catalogue = try SampleDeployment.load().replies
        #expect(catalogue.problems().map(\.description) == [])
        for language in ParsedMessage.Language.allCases {
            for key in ReplyCatalogue.Key.allCases where ![.officerAlert, .officerAlertUrgent, .officerList, .officerShow].contains(key) {
                let text = catalogue.render(key, language, ReplyCatalogue.longestValues)
                #expect(SMSText(text).isSingleGSM7Segment, "\(language).\(key.rawValue): \(text)")
            }
        }
    }

    @Test("officer alerts stay one GSM-7 segment, names folded to ASCII, whatever the report holds")
    func alertsFit() throws {
        let catalogue = try SampleDeployment.load().replies
        var report = ParsedMessage(kind: .tip, urgent: true)
        report.child = .init(name: "Giàng Thị Thanh Hương Mai Lan", age: 14, sex: .female)
        report.origin = .init(areaCode: "715", areaName: "Xã Lũng Cú", village: "Thôn Lũng Táo Trên Cùng Xa Xôi")
        report.destination = .init(text: "TQ", code: "CN", name: "Trung Quốc", country: "CN")
        report.leftOn = "2026-11-27"
        report.companion = .init(name: "Chị Vàng Thị Sính Lò", phone: "+84912345678")
        let text = OfficerAlert.text(number: 99999, report: report, catalogue: catalogue)
        #expect(SMSText(text).isSingleGSM7Segment, "\(text)")
        #expect(text.hasPrefix("KHAN #99999"))
        #expect(text.contains("NHAN 99999"))
    }

    @Test("a reply over 160 characters or with a diacritic is a config error naming the file, line and key")
    func badReplyRejected() throws {
        let folder = try SampleDeployment.copy(editing: "replies.yaml") {
            $0.replacingOccurrences(of: "  help: \"Bao tre", with: "  help: \"Báo trẻ")
              .replacingOccurrences(of: "  add_ok: \"Da them", with: "  add_ok: \"\(String(repeating: "x", count: 150)) Da them")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try Deployment.load(configPath: folder.appendingPathComponent("tipline.yaml").path, environment: SampleDeployment.keys)
        } throws: { error in
            let text = "\(error)"
            return text.contains("replies.yaml:") && text.contains("vi.help: not GSM-7") && text.contains("vi.add_ok:") && text.contains("at most 160")
        }
    }
}
