/// How a case ended, given with its close (`XONG 1001 VE em da ve nha`, the web form, the API): a fact, kept in
/// clear beside the free-text result and through retention, and counted by the statistics.
///
/// The codes officers type are in the vocabulary (``Vocabulary/outcomes``, `outcomes:` in `config/vocabulary.yaml`).
public enum Outcome: String, Sendable, Codable, CaseIterable {
    /// The child came back home.
    case returned
    /// Stopped before leaving.
    case stopped
    /// Referred to the police.
    case police
    /// Referred to social services.
    case social
    /// Found at work (or where they were taken).
    case found
    /// Not found.
    case notFound = "not_found"
    /// The report was false.
    case falseReport = "false_report"

    /// How staff read it, Vietnamese then English.
    public var label: String {
        switch self {
        case .returned: "Đã về nhà / Returned home"
        case .stopped: "Ngăn được trước khi đi / Stopped before leaving"
        case .police: "Chuyển công an / Referred to police"
        case .social: "Chuyển bảo trợ xã hội / Referred to social services"
        case .found: "Tìm thấy nơi làm việc / Found at work"
        case .notFound: "Không tìm thấy / Not found"
        case .falseReport: "Tin báo sai / False report"
        }
    }
}
