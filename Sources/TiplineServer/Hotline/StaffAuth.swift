import Crypto
import CryptoExtras
import Foundation

/// Secrets for staff access: API tokens (stored only as a SHA-256 hash), passwords (scrypt), session ids.
public enum StaffAuth {
    /// A new random token, `tl_` + 43 URL-safe characters; printed once, never stored.
    public static func newToken(prefix: String = "tl_") -> String {
        prefix + base64URL(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
    }

    public static func hash(token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// `scrypt$N$r$p$salt$key`, with a random salt. N = 2^14, r = 8, p = 1: slow for a guesser, fine for a sign-in.
    public static func hash(password: String) throws -> String {
        let salt = SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) }
        let key = try KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << 14, blockSize: 8, parallelism: 1)
        return "scrypt$16384$8$1$\(salt.base64EncodedString())$\(key.withUnsafeBytes { Data($0) }.base64EncodedString())"
    }

    public static func verify(password: String, hash stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let n = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
              let key = try? KDF.Scrypt.deriveKey(from: Data(password.utf8), salt: salt, outputByteCount: expected.count, rounds: n,
                                                  blockSize: r, parallelism: p) else { return false }
        let actual = key.withUnsafeBytes { Data($0) }
        guard actual.count == expected.count else { return false }
        return zip(actual, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
