/// The alert text a duty officer receives: one GSM-7 segment, names folded to ASCII.
public enum OfficerAlert {
    /// Number, `KHAN` when urgent, age and sex, commune, destination, date left, companion phone, how to answer.
    public static func text(number: Int, report: ParsedMessage, catalogue: ReplyCatalogue, language: ParsedMessage.Language = .vi) -> String {
        let details = summary(report, language: language)
        // A message read without a keyword is marked for the officer to check ("unreadable, please check").
        let key: ReplyCatalogue.Key = report.kind == .unknown ? .officerAlertUnreadable : report.urgent ? .officerAlertUrgent : .officerAlert
        let fixed = catalogue.render(key, language, ["number": "\(number)", "details": ""]).count
        if fixed + details.count <= 160 {
            return catalogue.render(key, language, ["number": "\(number)", "details": details])
        }
        // Too long: shorten the details, keep the number and the answer keywords.
        let room = max(0, 160 - fixed - 2)
        return catalogue.render(key, language, ["number": "\(number)", "details": String(details.prefix(room)) + ".."])
    }

    /// A one-line summary of the child's case, ASCII only.
    public static func summary(_ report: ParsedMessage, language: ParsedMessage.Language = .vi) -> String {
        var parts: [String] = []
        let sex = report.child.sex.map { $0 == .female ? (language == .vi ? "nu" : "girl") : (language == .vi ? "nam" : "boy") }
        let age = report.child.age.map { language == .vi ? "\($0)t" : "\($0)y" }
        let who = [report.child.name, age, sex].compactMap { $0 }.joined(separator: " ")
        if !who.isEmpty { parts.append(who) }
        if let area = report.origin.areaName {
            parts.append(area)
        } else if let text = report.origin.text {
            parts.append("?" + text)
        } else if !report.origin.candidates.isEmpty {
            parts.append("xa? " + report.origin.candidates.joined(separator: "/"))
        }
        if let village = report.origin.village { parts.append((language == .vi ? "thon " : "village ") + village) }
        if let destination = report.destination.name ?? report.destination.text {
            parts.append((language == .vi ? "di " : "to ") + destination)
        }
        if let left = report.leftOn {
            let pieces = left.split(separator: "-")
            if pieces.count == 3 { parts.append((language == .vi ? "tu " : "since ") + "\(Int(pieces[2])!)/\(Int(pieces[1])!)") }
        }
        if let phone = report.companion.phone {
            parts.append((language == .vi ? "nguoi dua " : "with ") + [report.companion.name, phone].compactMap { $0 }.joined(separator: " "))
        } else if let companion = report.companion.name {
            parts.append((language == .vi ? "voi " : "with ") + companion)
        }
        if parts.isEmpty, let note = report.note { parts.append(note) }
        return TextFolding.asciiFold(parts.joined(separator: ", "))
    }
}
