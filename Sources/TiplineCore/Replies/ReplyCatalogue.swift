import Foundation

/// The texts tipline sends, by key and language, from `config/replies.yaml`.
///
/// Every rendered reply must fit one GSM-7 segment: no diacritics, at most 160 characters. Placeholders are
/// written `{name}`. A reply to a reporter never carries the child's details: phones are shared.
public struct ReplyCatalogue: Sendable {
    public enum Key: String, Sendable, CaseIterable {
        case ackTip = "ack_tip"
        case ackPartial = "ack_partial"
        case ackAlert = "ack_alert"
        case ackUnknown = "ack_unknown"
        case help
        case addOK = "add_ok"
        case homeOK = "home_ok"
        case status
        case statusOpen = "status_open"
        case statusAcknowledged = "status_acknowledged"
        case statusHome = "status_home"
        case statusClosed = "status_closed"
        case statusPartial = "status_partial"
        case notFound = "not_found"
        case needNumber = "need_number"
        case stopOK = "stop_ok"
        case startOK = "start_ok"
        case missingAge = "missing_age"
        case missingOrigin = "missing_origin"
        case missingDestination = "missing_destination"
        case officerAckOK = "officer_ack_ok"
        case officerAlreadyTaken = "officer_already_taken"
        case officerAlreadyClosed = "officer_already_closed"
        case officerBundle = "officer_bundle"
        case slowDown = "slow_down"
        case officerInvitation = "officer_invitation"
        case officerConfirmed = "officer_confirmed"
        case officerConfirmWrong = "officer_confirm_wrong"
        case officerPassOK = "officer_pass_ok"
        case officerCloseOK = "officer_close_ok"
        case officerNoteOK = "officer_note_ok"
        case officerHomeOK = "officer_home_ok"
        case officerList = "officer_list"
        case officerListEmpty = "officer_list_empty"
        case officerShow = "officer_show"
        case officerDutyOn = "officer_duty_on"
        case officerDutyOff = "officer_duty_off"
        case officerAlert = "officer_alert"
        case officerAlertUrgent = "officer_alert_urgent"
        /// A message with no keyword that names a commune and a child: the commune's officers are asked to read it.
        case officerAlertUnreadable = "officer_alert_unreadable"
        case reporterHandled = "reporter_handled"
        case officerReminder = "officer_reminder"
        case hotlineCallNow = "hotline_call_now"
        case clusterDestination = "cluster_destination"
        case clusterCompanion = "cluster_companion"
        case duplicateChild = "duplicate_child"
    }

    public let texts: [ParsedMessage.Language: [Key: String]]

    public init(texts: [ParsedMessage.Language: [Key: String]]) {
        self.texts = texts
    }

    public struct Problem: Sendable, CustomStringConvertible {
        public var language: ParsedMessage.Language
        public var key: String
        public var problem: String
        public var description: String { "\(language.rawValue).\(key): \(problem)" }
    }

    /// Keys missing in a language, and texts that are not GSM-7 or too long with their placeholders filled at their longest.
    public func problems() -> [Problem] {
        var problems: [Problem] = []
        for language in ParsedMessage.Language.allCases {
            for key in Key.allCases {
                guard let template = texts[language]?[key] else {
                    problems.append(Problem(language: language, key: key.rawValue, problem: "missing"))
                    continue
                }
                let rendered = ReplyCatalogue.fill(template, ReplyCatalogue.longestValues)
                if SMSText.gsm7Septets(rendered) == nil {
                    problems.append(Problem(language: language, key: key.rawValue, problem: "not GSM-7 (remove diacritics and special characters)"))
                } else if key != .officerAlert, key != .officerAlertUrgent, key != .officerAlertUnreadable, key != .officerList, key != .officerShow, key != .hotlineCallNow,
                          SMSText.gsm7Septets(rendered)! > 160 {
                    problems.append(Problem(language: language, key: key.rawValue,
                                            problem: "\(SMSText.gsm7Septets(rendered)!) characters with placeholders filled; at most 160"))
                }
            }
        }
        return problems
    }

    /// Placeholder values at their longest, for checking lengths.
    public static let longestValues: [String: String] = [
        "number": "99999", "missing": "tuoi, xa, noi den", "status": "can bo dang xu ly, cho ket qua",
        "officer": "Nguyen Thi Thanh Huong", "time": "23:59 31/12", "keyword": "CHUYEN", "cases": "", "summary": "",
        "details": "", "until": "23:59", "count": "12", "area": "Xa Hong Thai Tay Nam Giang", "destination": "Thanh pho Ho Chi Minh",
        "numbers": "#99991 #99992 #99993", "phone": "+84912345678", "code": "9999",
    ]

    /// The text for `key` in `language` with its placeholders filled (English falls back to Vietnamese), GSM-7 and cut to
    /// `septets` (one segment unless a longer answer is allowed, as for an officer's case list).
    public func render(_ key: Key, _ language: ParsedMessage.Language, _ values: [String: String] = [:], septets: Int = 160) -> String {
        let template = texts[language]?[key] ?? texts[.vi]?[key] ?? key.rawValue
        return SMSText.truncated(TextFolding.gsm7(ReplyCatalogue.fill(template, values)), toSeptets: septets)
    }

    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = template
        for (name, value) in values {
            out = out.replacingOccurrences(of: "{\(name)}", with: value)
        }
        return out
    }
}
