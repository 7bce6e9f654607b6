/// A configuration problem, naming the file, the line when known, the key and what would fix it.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var key: String
    public var problem: String
    /// What would fix it, when `problem` does not already say.
    public var fix: String?

    public init(file: String, line: Int? = nil, key: String, problem: String, fix: String? = nil) {
        self.file = file
        self.line = line
        self.key = key
        self.problem = problem
        self.fix = fix
    }

    public var description: String {
        let place = line.map { "\(file):\($0)" } ?? file
        let text = fix.map { "\(problem): \($0)" } ?? problem
        return key.isEmpty ? "\(place): \(text)" : "\(place): \(key): \(text)"
    }
}

/// Several problems found in one check.
public struct ConfigErrors: Error, CustomStringConvertible, Sendable {
    public var errors: [ConfigError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
