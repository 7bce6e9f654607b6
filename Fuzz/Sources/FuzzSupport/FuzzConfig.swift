import Foundation
import TiplineServer

/// The configuration the targets run against: the repository's sample deployment (`config/`), or the folder named by
/// `FUZZ_CONFIG` (scripts/fuzz sets it), read once per process.
public enum FuzzConfig {
    /// `FUZZ_CONFIG`, else the `config/` folder of the repository this package sits in.
    public static let folder: String = {
        if let folder = ProcessInfo.processInfo.environment["FUZZ_CONFIG"], !folder.isEmpty { return folder }
        // Fuzz/Sources/FuzzSupport/FuzzConfig.swift → the repository root.
        var root = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { root.deleteLastPathComponent() }
        return root.appendingPathComponent("config").path
    }()

    /// The whole sample deployment — gazetteer, vocabulary, replies, USSD screens — as `tipline serve` loads it, with
    /// no environment overrides. A deployment that does not load stops the fuzzer at its first input, saying why.
    public static let deployment: Deployment = {
        let path = (folder as NSString).appendingPathComponent("tipline.yaml")
        do {
            return try Deployment.load(configPath: path, environment: [:])
        } catch {
            fatalError("fuzz: cannot load the deployment at \(path) (set FUZZ_CONFIG to a config folder): \(error)")
        }
    }()

    /// The instant every input is received at: fixed, so a crash replays exactly.
    public static let receivedAt = Date(timeIntervalSince1970: 1_795_831_200) // 2026-11-28T09:00:00+07:00
}
