import Foundation
import TiplineCore

/// The escalation policy in force, with a province's own where it has one.
public struct EscalationPolicies: Sendable {
    public var standard: EscalationPolicy
    public var provinces: [String: EscalationPolicy]

    public func policy(province: String?) -> EscalationPolicy {
        province.flatMap { provinces[$0] } ?? standard
    }
}

/// `config/escalation.yaml`: the urgent and normal tracks, and a province's own where it has one.
enum EscalationFile {
    /// Reads the policies, noting every problem; a part with a problem keeps the built-in value.
    static func read(_ text: String, file: String, timeZone: TimeZone, provinces: Set<String>, problems: inout ConfigProblems) -> EscalationPolicies {
        let builtIn = EscalationPolicy.standard(timeZone: timeZone)
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: file, text: text)
        } catch {
            problems.add(error)
            return EscalationPolicies(standard: builtIn, provinces: [:])
        }
        let standard = policy(yaml, base: "", defaults: builtIn, problems: &problems)
        var byProvince: [String: EscalationPolicy] = [:]
        let codes = problems.value([]) { try yaml.keys("provinces") }
        for code in codes {
            guard provinces.contains(code) else {
                problems.add(yaml.error("provinces.\(code)", "'\(code)' is not a province code in areas.csv (known: \(provinces.sorted().joined(separator: ", ")))"))
                continue
            }
            byProvince[code] = policy(yaml, base: "provinces.\(code)", defaults: standard, problems: &problems)
        }
        return EscalationPolicies(standard: standard, provinces: byProvince)
    }

    /// The tracks under `base` (the file's top level, or `provinces.<code>`); a track not given keeps `defaults`.
    static func policy(_ yaml: YAMLReader, base: String, defaults: EscalationPolicy, problems: inout ConfigProblems) -> EscalationPolicy {
        var policy = defaults
        let prefix = base.isEmpty ? "" : base + "."
        if yaml.node(prefix + "urgent") != nil { policy.urgent = track(yaml, prefix + "urgent", defaults: defaults.urgent, problems: &problems) }
        if yaml.node(prefix + "normal") != nil { policy.normal = track(yaml, prefix + "normal", defaults: defaults.normal, problems: &problems) }
        return policy
    }

    static func track(_ yaml: YAMLReader, _ path: String, defaults: EscalationPolicy.Track, problems: inout ConfigProblems) -> EscalationPolicy.Track {
        var levels: [EscalationPolicy.Level] = []
        let items = problems.value([]) { try yaml.items(path + ".levels") }
        for (_, item) in items {
            if let parsed = problems.attempt({ try level(item) }) { levels.append(parsed) }
        }
        var quiet: (start: Int, end: Int)?
        if yaml.node(path + ".quiet_hours") != nil {
            quiet = problems.attempt { try quietHours(yaml, path + ".quiet_hours") }
        }
        let repeats = problems.value(defaults.repeats) { try yaml.int(path + ".repeat", default: defaults.repeats, range: 0...10) }
        let reminderHours = problems.value(defaults.reminderAfter / 3600) {
            try yaml.double(path + ".reminder_after_hours", default: defaults.reminderAfter / 3600, range: 0.01...10_000)
        }
        return EscalationPolicy.Track(
            levels: levels.isEmpty ? defaults.levels : levels,
            repeats: repeats,
            quietHours: quiet ?? (yaml.node(path + ".quiet_hours") == nil ? defaults.quietHours : nil),
            reminderAfter: reminderHours * 3600
        )
    }

    /// One level: minutes after the previous one, and whom it alerts.
    static func level(_ item: YAMLReader) throws(ConfigError) -> EscalationPolicy.Level {
        let minutes = try item.double("after_minutes", default: -1, range: -1...100_000)
        guard minutes > 0 else {
            throw ConfigError(file: item.file, line: item.line, key: item.qualified("after_minutes"),
                              problem: "is missing or not above 0: minutes after the previous level")
        }
        var targets: [EscalationPolicy.Target] = []
        for name in try item.stringList("to") {
            guard let target = EscalationPolicy.Target(rawValue: name) else {
                throw item.error("to", "'\(name)' is not a target (commune, province, hotline)")
            }
            targets.append(target)
        }
        guard !targets.isEmpty else {
            throw ConfigError(file: item.file, line: item.line, key: item.qualified("to"),
                              problem: "is missing: who this level alerts (commune, province, hotline)")
        }
        return EscalationPolicy.Level(delay: minutes * 60, targets: targets)
    }

    /// Quiet hours `from`–`to` (HH:MM), in minutes after midnight.
    static func quietHours(_ yaml: YAMLReader, _ path: String) throws(ConfigError) -> (start: Int, end: Int) {
        let from = try yaml.requiredString(path + ".from", hint: "HH:MM")
        let to = try yaml.requiredString(path + ".to", hint: "HH:MM")
        guard let start = RosterFile.minutes(from), let end = RosterFile.minutes(to) else {
            throw yaml.error(path, "from and to must be times HH:MM")
        }
        return (start, end)
    }
}
