import Crypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

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
    /// An HMAC already keyed with `indexKey` (its inner and outer pads hashed once): each index copies it.
    let indexMAC: HMAC<SHA256>?

    /// No encryption: values are stored as they are (`encryption: off`, or a database opened for tests).
    public static let plaintext = FieldCipher(keys: [:], current: nil, indexKey: nil)

    public init(keys: [String: SymmetricKey], current: String?, indexKey: SymmetricKey?) {
        self.keys = keys
        self.current = current
        self.indexKey = indexKey
        self.indexMAC = indexKey.map { HMAC<SHA256>(key: $0) }
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

    /// Seals a value under the current key (as it is, when encryption is off — unless it would read as sealed:
    /// a text that begins `enc1:` or `enc0:` is stored behind `enc0:`, which ``open(_:)`` takes off).
    public func seal(_ value: String) throws -> String {
        guard let current, let key = keys[current] else {
            return value.utf8.starts(with: Self.prefixBytes) || value.utf8.starts(with: Self.clearPrefixBytes) ? Self.clearPrefix + value : value
        }
        let box = try AES.GCM.seal(Array(value.utf8), using: key, nonce: NoncePool.shared.next())
        guard let combined = box.combined else { throw FieldCipherError.sealFailed }
        var text = Array(Self.prefix.utf8)
        text.append(contentsOf: current.utf8)
        text.append(UInt8(ascii: ":"))
        Base64.encode(combined, into: &text)
        return String(decoding: text, as: UTF8.self)
    }

    public func seal(_ value: String?) throws -> String? {
        try value.map { try seal($0) }
    }

    /// Opens a sealed value; a value stored before encryption was turned on is returned as it is.
    /// (Read as bytes: character-by-character string scanning was a tenth of the sealed intake's extra time.)
    public func open(_ stored: String) throws -> String {
        var stored = stored
        return try stored.withUTF8 { bytes -> String in
            guard let (id, body) = Self.parts(bytes) else {
                if bytes.starts(with: Self.clearPrefixBytes) {
                    return String(decoding: bytes[Self.clearPrefixBytes.count...], as: UTF8.self)
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            guard !id.isEmpty else { throw FieldCipherError.malformed }
            guard let key = keys[id] else { throw FieldCipherError.unknownKey(id) }
            guard let data = Base64.decode(body) else { throw FieldCipherError.malformed }
            let plain = try AES.GCM.open(AES.GCM.SealedBox(combined: data), using: key)
            return String(decoding: plain, as: UTF8.self)
        }
    }

    /// The key id and the base64 body of a sealed value; nil for a value in clear.
    private static func parts(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, UnsafeBufferPointer<UInt8>.SubSequence)? {
        let prefix = prefixBytes
        guard bytes.count > prefix.count, bytes.starts(with: prefix) else { return nil }
        let rest = bytes[prefix.count...]
        guard let colon = rest.firstIndex(of: UInt8(ascii: ":")) else { return ("", rest[rest.startIndex..<rest.startIndex]) }
        return (String(decoding: rest[..<colon], as: UTF8.self), rest[(colon + 1)...])
    }

    static let prefixBytes = Array(prefix.utf8)
    /// Marks a value stored in clear that would otherwise read as sealed (see ``seal(_:)``).
    static let clearPrefix = "enc0:"
    static let clearPrefixBytes = Array(clearPrefix.utf8)

    public func open(_ stored: String?) throws -> String? {
        try stored.map { try open($0) }
    }

    /// The key id a stored value was sealed with; nil for a value stored in clear.
    public static func keyID(of stored: String) -> String? {
        var stored = stored
        return stored.withUTF8 { parts($0).flatMap { $0.0.isEmpty ? nil : $0.0 } }
    }

    /// The blind index of a value: equal values give equal indexes, and nothing about the value can be read back
    /// without the index key. With encryption off, the value itself.
    ///
    /// 64 bits of HMAC-SHA-256 (`bi2:` and 16 hex digits): among a few million values no two share one to speak of,
    /// and the indexes every message writes (sender, reporter, recipient, child) stay small. (`bi1:` indexes, 128
    /// bits, were cut to their first half by migration v18: the same HMAC, so no key was needed.)
    public func index(_ value: String) -> String {
        keyed(value, prefix: "bi2:", bytes: 8) ?? value
    }

    /// A search word's blind index, for the full-text index of sealed texts (64 bits, like ``index(_:)``; `bw:` is
    /// the first half of the `bi1:` words search keys held before migration v18). With encryption off, the word.
    public func searchToken(_ word: String) -> String {
        keyed(word, prefix: "bw:", bytes: 8) ?? word
    }

    /// `prefix` and the first `bytes` bytes of the keyed HMAC of `value`, in hex; nil without an index key.
    func keyed(_ value: String, prefix: String, bytes count: Int) -> String? {
        guard var hmac = indexMAC else { return nil }
        hmac.update(data: Array(value.utf8))
        let mac = hmac.finalize()
        // Hex by hand: String(format:) per byte was the largest cost of sealing on the intake path.
        var text: [UInt8] = Array(prefix.utf8)
        text.reserveCapacity(prefix.utf8.count + 2 * count)
        mac.withUnsafeBytes { bytes in
            for byte in bytes.prefix(count) {
                text.append(Self.hexDigits[Int(byte >> 4)])
                text.append(Self.hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Whether a stored blind index (or a search key of them, between spaces) was made as this cipher makes them:
    /// keyed (`bi2:`, or `bw:` for search words) when there is an index key, the value itself when there is none.
    func madeIndex(_ stored: String) -> Bool {
        let first = stored.utf8.drop { $0 == UInt8(ascii: " ") }
        guard !first.isEmpty else { return true }
        return (first.starts(with: "bi2:".utf8) || first.starts(with: "bw:".utf8)) == (indexKey != nil)
    }

    /// Whether a stored value is a keyed blind index (opt-outs and group-warning keys are kept only as one).
    static func isIndex(_ stored: String) -> Bool {
        stored.hasPrefix("bi2:") || stored.hasPrefix("bi1:")
    }

    public func index(_ value: String?) -> String? {
        value.map { index($0) }
    }

    /// Runs `work` with this cipher bound (records seal and open their columns with it).
    public func bind<T>(_ work: () throws -> T) rethrows -> T {
        try Self.$bound.withValue(self, operation: work)
    }
}

/// Random 96-bit AES-GCM nonces, drawn from the kernel's generator 4 KiB at a time (one `/dev/urandom` read per 341
/// nonces instead of a `getrandom` call per sealed value: the kernel's generator was a fiftieth of the sealed intake's
/// time). Before its first read it draws from Swift's generator, which waits until the kernel's is seeded (on kernels
/// before 5.18 `/dev/urandom` does not wait).
final class NoncePool: Sendable {
    static let shared = NoncePool()
    private let state = Mutex<(bytes: [UInt8], next: Int)>(([], 0))

    func next() throws -> AES.GCM.Nonce {
        let bytes = state.withLock { state -> ArraySlice<UInt8> in
            if state.next + 12 > state.bytes.count {
                state.bytes = Self.random(count: 4092)
                state.next = 0
            }
            defer { state.next += 12 }
            return state.bytes[state.next..<state.next + 12]
        }
        return try AES.GCM.Nonce(data: bytes)
    }

    #if canImport(Glibc)
    private static let urandom: Int32 = {
        var seeded = SystemRandomNumberGenerator()
        _ = seeded.next() as UInt64 // getrandom(2): returns once the kernel's generator is initialised
        return open("/dev/urandom", O_RDONLY | O_CLOEXEC)
    }()
    #endif

    /// `count` bytes from the kernel's generator, in one read.
    private static func random(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        #if canImport(Glibc)
        var filled = 0
        while filled < count, urandom >= 0 {
            let got = bytes.withUnsafeMutableBytes { read(urandom, $0.baseAddress! + filled, count - filled) }
            guard got > 0 else { break }
            filled += got
        }
        if filled < count { // no /dev/urandom: the generator Swift uses, 8 bytes a call
            var generator = SystemRandomNumberGenerator()
            for index in bytes.indices { bytes[index] = generator.next() }
        }
        #else
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        #endif
        return bytes
    }
}

/// Standard base64 (RFC 4648, padded) over bytes, without Foundation's string bridging on every sealed value.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode(_ data: Data, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (data.count + 2) / 3 * 4)
        data.withUnsafeBytes { bytes in
            var index = 0
            while index + 3 <= bytes.count {
                let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                out.append(alphabet[Int(value >> 18 & 63)])
                out.append(alphabet[Int(value >> 12 & 63)])
                out.append(alphabet[Int(value >> 6 & 63)])
                out.append(alphabet[Int(value & 63)])
                index += 3
            }
            let left = bytes.count - index
            if left > 0 {
                let value = UInt32(bytes[index]) << 16 | (left == 2 ? UInt32(bytes[index + 1]) << 8 : 0)
                out.append(alphabet[Int(value >> 18 & 63)])
                out.append(alphabet[Int(value >> 12 & 63)])
                out.append(left == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
                out.append(UInt8(ascii: "="))
            }
        }
    }

    /// Nil for anything but padded base64 (a length not a multiple of 4, a byte outside the alphabet).
    static func decode(_ text: UnsafeBufferPointer<UInt8>.SubSequence) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 4 * 3)
        var index = text.startIndex
        while index < text.endIndex {
            let a = values[Int(text[index])], b = values[Int(text[index + 1])]
            let c3 = text[index + 2], d3 = text[index + 3]
            let last = index + 4 == text.endIndex
            guard a != 0xFF, b != 0xFF else { return nil }
            if last, c3 == UInt8(ascii: "=") {
                guard d3 == UInt8(ascii: "=") else { return nil }
                out.append(a << 2 | b >> 4)
            } else if last, d3 == UInt8(ascii: "=") {
                let c = values[Int(c3)]
                guard c != 0xFF else { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
            } else {
                let c = values[Int(c3)], d = values[Int(d3)]
                guard c != 0xFF, d != 0xFF else { return nil }
                out.append(a << 2 | b >> 4)
                out.append(b << 4 | c >> 2)
                out.append(c << 6 | d)
            }
            index += 4
        }
        return out
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
