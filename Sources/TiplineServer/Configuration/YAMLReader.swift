import Foundation
import Yams

/// Typed reading of a YAML file with errors that name the file, line and key — and environment overrides.
///
/// With an `environmentPrefix`, every key read can be overridden by `PREFIX_` + its path in capitals joined by
/// `_` (`server.port` → `TIPLINE_SERVER_PORT`). A reader over one item of a list (``items(_:)``) names its keys by
/// their whole path (`officers[2].phone`), so every error says where it is.
struct YAMLReader {
    let file: String
    let root: Node
    let environment: [String: String]
    let environmentPrefix: String?
    /// The path of `root` in the file; empty for the whole file.
    let base: String

    init(file: String, text: String, environment: [String: String] = [:], environmentPrefix: String? = nil) throws(ConfigError) {
        self.file = file
        self.environment = environment
        self.environmentPrefix = environmentPrefix
        self.base = ""
        do {
            root = try Yams.compose(yaml: text) ?? Node.mapping(Node.Mapping([]))
        } catch let error as YamlError {
            throw ConfigError(file: file, line: YAMLReader.line(of: error), key: "", problem: "not valid YAML: \(YAMLReader.problem(of: error))")
        } catch {
            throw ConfigError(file: file, key: "", problem: "not valid YAML: \(error)")
        }
        guard root.mapping != nil else {
            throw ConfigError(file: file, line: root.mark.map { $0.line }, key: "", problem: "expected a mapping of settings at the top level")
        }
    }

    init(file: String, node: Node, base: String = "", environment: [String: String] = [:], environmentPrefix: String? = nil) {
        self.file = file
        self.root = node
        self.base = base
        self.environment = environment
        self.environmentPrefix = environmentPrefix
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _):
            return mark.line
        default:
            return nil
        }
    }

    static func problem(of error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _):
            return problem
        default:
            return "\(error)"
        }
    }

    // MARK: - Lookup

    func node(_ path: String) -> Node? {
        var node: Node? = root
        for key in path.split(separator: ".") {
            node = node?.mapping?[String(key)]
        }
        return node
    }

    /// `path` as the whole file sees it (`officers[2].phone` for `phone` in the third officer).
    func qualified(_ path: String) -> String {
        base.isEmpty ? path : path.isEmpty ? base : base + "." + path
    }

    /// The line of `path`, or of this item when `path` is not there.
    func line(of path: String) -> Int? {
        node(path)?.mark.map { $0.line } ?? (base.isEmpty ? nil : line)
    }

    func environmentName(_ path: String) -> String? {
        environmentPrefix.map { $0 + "_" + path.uppercased().replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_") }
    }

    /// The raw text for `path`, from the environment first, and where it came from.
    func raw(_ path: String) throws(ConfigError) -> (String, ConfigError)? {
        if let name = environmentName(path), let value = environment[name] {
            return (value, ConfigError(file: "environment", key: name, problem: ""))
        }
        guard let node = node(path) else { return nil }
        guard let scalar = node.scalar else {
            throw error(path, "expected a single value, not a \(node.mapping != nil ? "mapping" : "list")")
        }
        return (scalar.string, ConfigError(file: file, line: node.mark.map { $0.line }, key: qualified(path), problem: ""))
    }

    func error(_ path: String, _ problem: String, fix: String? = nil) -> ConfigError {
        ConfigError(file: file, line: line(of: path), key: qualified(path), problem: problem, fix: fix)
    }

    // MARK: - Typed values

    func string(_ path: String) throws(ConfigError) -> String? {
        guard let (value, _) = try raw(path) else { return nil }
        return value
    }

    func string(_ path: String, default fallback: String) throws(ConfigError) -> String {
        try string(path) ?? fallback
    }

    func requiredString(_ path: String, hint: String) throws(ConfigError) -> String {
        guard let value = try string(path), !value.isEmpty else {
            throw error(path, "is missing", fix: hint)
        }
        return value
    }

    func int(_ path: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        try number(path, default: fallback, range: range, kind: "a whole number")
    }

    func double(_ path: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        try number(path, default: fallback, range: range, kind: "a number")
    }

    private func number<N: LosslessStringConvertible & Comparable>(_ path: String, default fallback: N, range: ClosedRange<N>,
                                                                   kind: String) throws(ConfigError) -> N {
        guard let (value, origin) = try raw(path) else { return fallback }
        guard let number = N(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            var failure = origin
            failure.problem = "must be \(kind) from \(range.lowerBound) to \(range.upperBound), not '\(value)'"
            throw failure
        }
        return number
    }

    func bool(_ path: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let (value, origin) = try raw(path) else { return fallback }
        switch value.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default:
            var failure = origin
            failure.problem = "must be true or false, not '\(value)'"
            throw failure
        }
    }

    func choice<T: RawRepresentable & CaseIterable>(_ path: String, default fallback: T) throws(ConfigError) -> T where T.RawValue == String {
        guard let (value, origin) = try raw(path) else { return fallback }
        guard let choice = T(rawValue: value) else {
            var failure = origin
            failure.problem = "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(value)'"
            throw failure
        }
        return choice
    }

    func stringList(_ path: String) throws(ConfigError) -> [String] {
        guard let node = node(path) else { return [] }
        if let scalar = node.scalar { return scalar.string.isEmpty ? [] : [scalar.string] }
        guard let sequence = node.sequence else { throw error(path, "expected a list") }
        var values: [String] = []
        for item in sequence {
            guard let scalar = item.scalar else {
                throw ConfigError(file: file, line: item.mark.map { $0.line }, key: qualified(path), problem: "expected a list of values")
            }
            values.append(scalar.string)
        }
        return values
    }

    /// Keys of the mapping at `path`, in file order.
    func keys(_ path: String) throws(ConfigError) -> [String] {
        guard let node = path.isEmpty ? root : node(path) else { return [] }
        guard let mapping = node.mapping else { throw error(path, "expected a mapping") }
        return mapping.keys.compactMap { $0.scalar?.string }
    }

    /// A reader over each item of the list at `path`, with its whole path (`officers[2]`).
    func items(_ path: String) throws(ConfigError) -> [(String, YAMLReader)] {
        guard let node = node(path) else { return [] }
        guard let sequence = node.sequence else { throw error(path, "expected a list") }
        return sequence.enumerated().map { index, item in
            let itemPath = qualified("\(path)[\(index)]")
            return (itemPath, YAMLReader(file: file, node: item, base: itemPath))
        }
    }

    var line: Int? { root.mark.map { $0.line } }
}
