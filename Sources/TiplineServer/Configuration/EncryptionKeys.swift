import Foundation
import TiplineStore

/// The keys of field-level encryption at rest (``FieldCipher``): never in the config file or the database.
///
/// From the environment — `TIPLINE_ENCRYPTION_KEYS="k2:BASE64,k1:BASE64"` (the first seals new values, every one
/// opens old ones) and `TIPLINE_INDEX_KEY=BASE64` — or from the secrets file:
///
/// ```yaml
/// encryption:
///   current: k2
///   keys: {k2: BASE64, k1: BASE64}
///   index_key: BASE64
/// ```
///
/// `encryption: off` in tipline.yaml stores values in clear (check-config and serve warn about it).
enum EncryptionKeys {
    static let keysVariable = "TIPLINE_ENCRYPTION_KEYS"
    static let indexVariable = "TIPLINE_INDEX_KEY"

    /// Whether the config turns encryption off (`encryption: off` or `false`).
    static func isOff(_ yaml: YAMLReader) -> Bool {
        guard let value = yaml.node("encryption")?.scalar?.string.lowercased() else { return false }
        return ["off", "false", "no"].contains(value)
    }

    /// The cipher the settings name; a problem (naming the file and key) when no key is configured.
    static func cipher(yaml: YAMLReader, secrets: YAMLReader?, environment: [String: String], problems: inout ConfigProblems) -> FieldCipher {
        if isOff(yaml) { return .plaintext }
        var keys: [(id: String, base64: String)] = []
        var index: String?
        if let list = environment[keysVariable], !list.isEmpty {
            for pair in list.split(separator: ",") {
                let parts = pair.split(separator: ":", maxSplits: 1).map { String($0).trimmingCharacters(in: .whitespaces) }
                keys.append((parts.first ?? "", parts.count > 1 ? parts[1] : ""))
            }
            index = environment[indexVariable]
        } else if let secrets, secrets.node("encryption") != nil {
            let current = secrets.node("encryption.current")?.scalar?.string
            let ids = ((try? secrets.keys("encryption.keys")) ?? []).sorted { ($0 == current ? 0 : 1, $0) < ($1 == current ? 0 : 1, $1) }
            keys = ids.map { ($0, secrets.node("encryption.keys.\($0)")?.scalar?.string ?? "") }
            index = secrets.node("encryption.index_key")?.scalar?.string
            if let current, !ids.contains(current) {
                problems.add(ConfigError(file: secrets.file, key: "encryption.current", problem: "'\(current)' is not one of encryption.keys"))
            }
        }
        guard !keys.isEmpty, let index else {
            problems.add(yaml.error("encryption", "no encryption key: personal values are sealed at rest",
                                    fix: "set \(keysVariable) and \(indexVariable), or put encryption: {current, keys, index_key} in secrets_file "
                                        + "(tipline keys generate prints one); or set encryption: off"))
            return .plaintext
        }
        do {
            return try FieldCipher.make(keys: keys, indexKey: index)
        } catch {
            problems.add(yaml.error("encryption", "\(error)"))
            return .plaintext
        }
    }

    /// A new secrets file's `encryption` section: one sealing key and the index key.
    static func generatedSection(id: String = "k1") -> String {
        """
        # Field-level encryption keys (docs/operations.md, Keys). Keep a copy offline: without them the database
        # cannot be read. Made by tipline keys generate.
        encryption:
          current: \(id)
          keys:
            \(id): \(FieldCipher.newKey())
          index_key: \(FieldCipher.newKey())

        """
    }

    /// On a training server whose secrets file does not exist yet and with no key in the environment, writes one with
    /// fresh keys (mode 0600), so the quick start just works. Never on a server with training off.
    static func generateForTraining(path: String, yaml: YAMLReader, environment: [String: String]) {
        guard (try? yaml.bool("training.enabled", default: false)) == true, !isOff(yaml), environment[keysVariable] == nil,
              !FileManager.default.fileExists(atPath: path) else { return }
        try? FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path, contents: Data(generatedSection().utf8), attributes: [.posixPermissions: 0o600])
    }
}
