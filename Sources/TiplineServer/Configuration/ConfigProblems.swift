/// Every problem found in one reading of the configuration, so that one check reports them all.
///
/// Each file's reader notes what is wrong and goes on with a stand-in value (the default, an empty list); the
/// deployment is refused at the end, with every problem of every file, if anything was noted.
struct ConfigProblems: Sendable {
    private(set) var errors: [ConfigError] = []

    var isEmpty: Bool { errors.isEmpty }
    /// How many problems are noted so far: a reader compares it before and after a part to know if that part was sound.
    var count: Int { errors.count }

    mutating func add(_ error: ConfigError) {
        errors.append(error)
    }

    /// Notes `error`: every problem of a ``ConfigErrors``, anything else as it describes itself.
    mutating func add(_ error: any Error) {
        switch error {
        case let error as ConfigError: errors.append(error)
        case let error as ConfigErrors: errors += error.errors
        default: errors.append(ConfigError(file: "configuration", key: "", problem: "\(error)"))
        }
    }

    /// What `read` returns, or `fallback` once its problem is noted.
    mutating func value<T>(_ fallback: T, _ read: () throws -> T) -> T {
        do {
            return try read()
        } catch {
            add(error)
            return fallback
        }
    }

    /// What `read` returns, or nil once its problem is noted.
    mutating func attempt<T>(_ read: () throws -> T) -> T? {
        do {
            return try read()
        } catch {
            add(error)
            return nil
        }
    }

    /// Throws every problem noted, if there is any.
    func throwIfAny() throws(ConfigErrors) {
        guard errors.isEmpty else { throw ConfigErrors(errors: errors) }
    }
}
