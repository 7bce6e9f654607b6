import Crypto
import CryptoExtras
import Dispatch
import Foundation

/// Secrets for staff access: API tokens (stored only as a SHA-256 hash), passwords (scrypt), session ids.
public enum StaffAuth {
    /// scrypt's cost parameters, stored with each hash (`scrypt$N$r$p$salt$key`) so a hash made at an older cost still verifies.
    public struct Cost: Sendable, Equatable {
        /// N, the CPU and memory cost: a power of two.
        public var rounds: Int
        /// r
        public var blockSize: Int
        /// p
        public var parallelism: Int

        public init(rounds: Int, blockSize: Int, parallelism: Int) {
            self.rounds = rounds
            self.blockSize = blockSize
            self.parallelism = parallelism
        }

        /// OWASP's current recommendation: N = 2^17, r = 8, p = 1 (128 MiB and a few tenths of a second per hash).
        public static let standard = Cost(rounds: 1 << 17, blockSize: 8, parallelism: 1)
        /// What tipline used before: N = 2^14. Such hashes still verify and are replaced at the next sign-in.
        public static let legacy = Cost(rounds: 1 << 14, blockSize: 8, parallelism: 1)
        /// For tests only: fast and weak.
        public static let testing = Cost(rounds: 1 << 10, blockSize: 8, parallelism: 1)

        /// Whether a hash made at this cost is weaker than `target` and should be replaced.
        func isWeaker(than target: Cost) -> Bool {
            rounds * blockSize < target.rounds * target.blockSize
        }
    }

    /// A new random token, `tl_` + 43 URL-safe characters; printed once, never stored.
    public static func newToken(prefix: String = "tl_") -> String {
        prefix + base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public static func hash(token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `scrypt$N$r$p$salt$key`, with a random salt. Blocks its thread for as long as the cost says: on the event loop,
    /// use ``hashOffLoop(password:cost:)``.
    public static func hash(password: String, cost: Cost = .standard) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let key = try KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: cost.rounds,
                                           blockSize: cost.blockSize, parallelism: cost.parallelism)
        return "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$\(salt.base64EncodedString())$\(key.withUnsafeBytes { Data($0) }.base64EncodedString())"
    }

    /// Whether `password` matches the stored hash, at whatever cost that hash was made.
    public static func verify(password: String, hash stored: String) -> Bool {
        guard let parsed = Stored(stored),
              let key = try? KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: parsed.salt, outputByteCount: parsed.key.count,
                                                  rounds: parsed.cost.rounds, blockSize: parsed.cost.blockSize,
                                                  parallelism: parsed.cost.parallelism) else { return false }
        let actual = key.withUnsafeBytes { Data($0) }
        guard actual.count == parsed.key.count else { return false }
        return zip(actual, parsed.key).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    /// The cost a stored hash was made at; nil when it is not an scrypt hash of this format.
    public static func cost(of stored: String) -> Cost? {
        Stored(stored)?.cost
    }

    /// A stored hash, taken apart. Refuses costs that are not powers of two or would ask for more than 1 GiB.
    struct Stored {
        let cost: Cost
        let salt: Data
        let key: Data

        init?(_ stored: String) {
            let parts = stored.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
                  n > 1, n & (n - 1) == 0, n <= 1 << 20, (1...32).contains(r), (1...16).contains(p), 128 * n * r * p <= 1 << 30,
                  let salt = Data(base64Encoded: parts[4]), let key = Data(base64Encoded: parts[5]), !key.isEmpty else { return nil }
            self.cost = Cost(rounds: n, blockSize: r, parallelism: p)
            self.salt = salt
            self.key = key
        }
    }

    // MARK: - Off the event loop

    /// Password hashing runs here, one at a time: it keeps scrypt's CPU time off the event loops and caps its memory
    /// (128 MiB per hash at the standard cost) however many sign-ins arrive at once.
    static let hashingQueue = DispatchQueue(label: "tipline.password-hashing", qos: .userInitiated)

    static func offLoop<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            hashingQueue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// ``hash(password:cost:)`` on the hashing queue.
    public static func hashOffLoop(password: String, cost: Cost = .standard) async throws -> String {
        try await offLoop { try hash(password: password, cost: cost) }
    }

    /// ``verify(password:hash:)`` on the hashing queue.
    public static func verifyOffLoop(password: String, hash stored: String) async -> Bool {
        (try? await offLoop { verify(password: password, hash: stored) }) ?? false
    }

    /// A hash no password matches, at `cost`: verified against when the name is unknown, so that answering takes as long
    /// as for a real account.
    static func decoy(cost: Cost) -> String {
        "scrypt$\(cost.rounds)$\(cost.blockSize)$\(cost.parallelism)$\(Data(count: 16).base64EncodedString())$\(Data(count: 32).base64EncodedString())"
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
