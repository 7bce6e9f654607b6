import Crypto
import Foundation

/// Field-level encryption at rest: every personal value (children's and companions' names, villages, phone numbers,
/// raw message texts) is sealed with AES-256-GCM before it reaches the database file, its WAL or a backup, and each
/// value names the key that sealed it (`enc1:<key id>:<base64 nonce+ciphertext+tag>`), so keys rotate online.
///
/// Lookups never need the plaintext: a number, a child's folded name or a search word is matched through its
/// blind index, an HMAC-SHA-256 under a separate key that never rotates with the sealing keys.
///
/// The cipher in force is bound for the length of each database access (``AppDatabase`` binds its own), so records
/// seal and open their columns without being handed a key.
public struct FieldCipher: Sendable {
    /// The sealing keys by id; `current` seals new values, every one opens old ones.
    public let keys: [String: SymmetricKey]
    public let current: String?
    /// The blind-index key; nil when encryption is off (indexes are then the values themselves).
    let indexKey: SymmetricKey?

    /// No encryption: values are stored as they are (`encryption: off`, or a database opened for tests).
    public static let plaintext = FieldCipher(keys: [:], current: nil, indexKey: nil)

    public init(keys: [String: SymmetricKey], current: String?, indexKey: SymmetricKey?) {
        self.keys = keys
        self.current = current
        self.indexKey = indexKey
    }

    public var isOn: Bool { current != nil }

    /// The cipher bound to the database access in progress.
    @TaskLocal static var bound: FieldCipher?

    static var inForce: FieldCipher {
        get throws {
            guard let bound else { throw FieldCipherError.unbound }
            return bound
        }
    }

    static let prefix = "enc1:"
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// Seals a value under the current key (as it is, when encryption is off).
    public func seal(_ value: String) throws -> String {
        guard let current, let key = keys[current] else { return value }
        let box = try AES.GCM.seal(Data(value.utf8), using: key)
        guard let combined = box.combined else { throw FieldCipherError.sealFailed }
        return Self.prefix + current + ":" + combined.base64EncodedString()
    }

    public func seal(_ value: String?) throws -> String? {
        try value.map { try seal($0) }
    }

    /// Opens a sealed value; a value stored before encryption was turned on is returned as it is.
    public func open(_ stored: String) throws -> String {
        guard stored.hasPrefix(Self.prefix) else { return stored }
        let rest = stored.dropFirst(Self.prefix.count)
        guard let colon = rest.firstIndex(of: ":") else { throw FieldCipherError.malformed }
        let id = String(rest[..<colon])
        guard let key = keys[id] else { throw FieldCipherError.unknownKey(id) }
        guard let data = Data(base64Encoded: String(rest[rest.index(after: colon)...])) else { throw FieldCipherError.malformed }
        let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key)
        return String(decoding: plain, as: UTF8.self)
    }

    public func open(_ stored: String?) throws -> String? {
        try stored.map { try open($0) }
    }

    /// The key id a stored value was sealed with; nil for a value stored in clear.
    public static func keyID(of stored: String) -> String? {
        guard stored.hasPrefix(prefix) else { return nil }
        let rest = stored.dropFirst(prefix.count)
        return rest.firstIndex(of: ":").map { String(rest[..<$0]) }
    }

    /// The blind index of a value: equal values give equal indexes, and nothing about the value can be read back
    /// without the index key. With encryption off, the value itself.
    public func index(_ value: String) -> String {
        guard let indexKey else { return value }
        let mac = HMAC<SHA256>.authenticationCode(for: Array(value.utf8), using: indexKey)
        // Hex by hand: String(format:) per byte was the largest cost of sealing on the intake path.
        var text: [UInt8] = Array("bi1:".utf8)
        text.reserveCapacity(36)
        mac.withUnsafeBytes { bytes in
            for byte in bytes.prefix(16) {
                text.append(Self.hexDigits[Int(byte >> 4)])
                text.append(Self.hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether a stored blind index (or a search key of them, between spaces) was made as this cipher makes them:
    /// keyed (`bi1:`) when there is an index key, the value itself when there is none.
    func madeIndex(_ stored: String) -> Bool {
        let first = stored.split(separator: " ").first
        guard let first else { return true }
        return first.hasPrefix("bi1:") == (indexKey != nil)
    }

    public func index(_ value: String?) -> String? {
        value.map { index($0) }
    }

    /// Runs `work` with this cipher bound (records seal and open their columns with it).
    public func bind<T>(_ work: () throws -> T) rethrows -> T {
        try Self.$bound.withValue(self, operation: work)
    }
}

public enum FieldCipherError: Error, CustomStringConvertible {
    case unbound, sealFailed, malformed, unknownKey(String)

    public var description: String {
        switch self {
        case .unbound: "no field cipher bound to this database access (use AppDatabase's read/write)"
        case .sealFailed: "could not seal a value"
        case .malformed: "a sealed value is malformed"
        case .unknownKey(let id): "a value is sealed with key '\(id)', which is not configured: add it to the keys (see docs/operations.md, Keys)"
        }
    }
}

extension FieldCipher {
    /// Makes a cipher from base64 keys: `keys` by id, the first id of `order` (or the only key) sealing new values.
    public static func make(keys encoded: [(id: String, base64: String)], indexKey: String) throws -> FieldCipher {
        var keys: [String: SymmetricKey] = [:]
        for (id, text) in encoded {
            guard !id.isEmpty, !id.contains(":"), let data = Data(base64Encoded: text), data.count == 32 else {
                throw KeyError("key '\(id)': must be 32 random bytes in base64 (tipline keys generate makes one), with an id without ':'")
            }
            keys[id] = SymmetricKey(data: data)
        }
        guard let current = encoded.first?.id else { throw KeyError("no encryption key") }
        guard let index = Data(base64Encoded: indexKey), index.count == 32 else {
            throw KeyError("index key: must be 32 random bytes in base64 (tipline keys generate makes one)")
        }
        return FieldCipher(keys: keys, current: current, indexKey: SymmetricKey(data: index))
    }

    /// 32 random bytes in base64: a new key.
    public static func newKey() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0).base64EncodedString() }
    }

    public struct KeyError: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }
}
