import ArgumentParser
import Foundation
import TiplineServer
import TiplineStore

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encryption keys for personal values at rest.",
        subcommands: [Generate.self]
    )

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a new key (and index key) as a secrets-file section, or as environment variables.",
            discussion: """
                To rotate: add the new key beside the old ones (secrets_file encryption.keys, or first in \
                TIPLINE_ENCRYPTION_KEYS), make it current, restart the daemon, run tipline rekey, then remove the old key. \
                Keep the index key: it cannot change without rekeying from the old one.
                """
        )
        @Option(help: "The new key's id (letters and digits).") var id = "k1"
        @Flag(help: "Print TIPLINE_ENCRYPTION_KEYS and TIPLINE_INDEX_KEY lines instead of YAML.") var environment = false

        func run() async throws {
            if environment {
                print("TIPLINE_ENCRYPTION_KEYS=\(id):\(FieldCipher.newKey())")
                print("TIPLINE_INDEX_KEY=\(FieldCipher.newKey())")
            } else {
                print("encryption:\n  current: \(id)\n  keys:\n    \(id): \(FieldCipher.newKey())\n  index_key: \(FieldCipher.newKey())")
            }
        }
    }
}

struct Rekey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Seal every personal value again under the current key (online, while the daemon runs).",
        discussion: "Also seals values stored in clear before encryption was turned on, and rebuilds their blind indexes."
    )
    @OptionGroup var options: CommonOptions

    func run() async throws {
        let deployment = try options.loadDeployment()
        guard deployment.settings.cipher.isOn else {
            FileHandle.standardError.write(Data("tipline: encryption is off in \(deployment.settings.configPath): nothing to rekey\n".utf8))
            throw ExitCode(78)
        }
        let database = try await deployment.settings.openDatabase()
        let summary = try await database.rekey()
        print("rekeyed under '\(deployment.settings.cipher.current ?? "")': \(summary)")
    }
}
