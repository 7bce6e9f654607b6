import Foundation
import FuzzSupport
import TiplineProviders
import TiplineServer

/// Where each input is written for `Settings.load(path:)`, which reads a file: in memory (/dev/shm) where there is
/// one, one folder per process, removed at exit.
let scratchFolder: String = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return (base as NSString).appendingPathComponent("tipline-fuzz-settings-\(ProcessInfo.processInfo.processIdentifier)")
}()
let scratch: URL = {
    try? FileManager.default.createDirectory(atPath: scratchFolder, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: scratchFolder) }
    return URL(fileURLWithPath: (scratchFolder as NSString).appendingPathComponent("tipline.yaml"))
}()

/// Credential keys that are secrets (`SettingsFile.secretKeys`): never taken from the config file.
let secretKeys = ["auth_token", "api_key", "api_secret", "api_key_secret", "signature_secret", "webhook_token", "api_token"]

let operatorToken = "env-operator-token-0123456789"

/// The environment a deployment gives: every secret of channels with the usual names (`env-<key>`), and an operator
/// token, so that configurations with real providers load too. Nothing else is overridden.
let environment: [String: String] = {
    var environment = ["TIPLINE_SERVER_OPERATOR_TOKEN": operatorToken]
    for channel in ["twilio", "africastalking", "vonage", "generic", "ussd"] {
        for key in secretKeys { environment["TIPLINE_CHANNEL_\(channel.uppercased())_\(key.uppercased())"] = "env-" + key }
    }
    return environment
}()

/// `config/tipline.yaml` as a deployment could write it, through the settings reader `tipline serve` and
/// `tipline check-config` use, with the secrets in the environment and no secrets file.
///
/// Checks, on the settings it accepts: every secret came from the environment, none from the config file; every USSD
/// channel that verifies requests has something to verify them by;
/// the training tools are on only without a real provider channel, and a simulator channel only with them; the
/// outbound channel is an enabled channel; numbers are within the ranges the reader promises.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    // `secrets_file` makes the reader open the file it names — /dev/zero or a pipe would hang the fuzzer, not tipline's
    // bug — so inputs that could name it are skipped: the key spelled out, or with a backslash (a double-quoted key can
    // spell it with escapes). The YAML parser itself gets every byte in FuzzYAML.
    if input.text.contains("secrets_file") || input.bytes.contains(UInt8(ascii: "\\")) { return 0 }
    do {
        try Data(input.bytes).write(to: scratch)
    } catch {
        fatalError("fuzz: cannot write \(scratch.path): \(error)")
    }
    guard let settings = try? Settings.load(path: scratch.path, environment: environment) else { return 0 }

    require(settings.operatorToken == nil || settings.operatorToken == operatorToken,
            "settings: an operator token was read from the config file")
    for (name, channel) in settings.channels {
        for key in secretKeys {
            guard let value = channel.credentials[key], value != "env-" + key else { continue }
            // The simulator's stand-in token is made by the process, not read.
            require(channel.provider == .simulator && key == "auth_token" && !value.isEmpty,
                    "settings: channel \(name)'s secret \(key) was read from the config file")
        }
    }
    for (name, ussd) in settings.ussdChannels {
        require(ussd.webhookToken == nil || ussd.webhookToken == "env-webhook_token",
                "settings: USSD channel \(name)'s webhook token was read from the config file")
        require(!ussd.verifyRequests || ussd.webhookToken != nil || !ussd.allowedSources.isEmpty,
                "settings: USSD channel \(name) verifies requests with nothing to verify them by")
    }
    // The training tools (the simulator, /simulator/*, the phone page) never run beside a real provider.
    let simulators = settings.channels.values.filter { $0.provider == .simulator }.count
    require(settings.training.enabled ? simulators == settings.channels.count : simulators == 0,
            "settings: training \(settings.training.enabled ? "on beside a real provider channel" : "off with a simulator channel")")
    require(settings.channels[settings.outboundChannel] != nil,
            "settings: outbound channel '\(settings.outboundChannel)' is not an enabled channel")
    require((0...65535).contains(settings.port), "settings: port \(settings.port)")
    require((1024...10_485_760).contains(settings.maxBodyBytes), "settings: max_body_bytes \(settings.maxBodyBytes)")
    require(settings.publicURL.hasPrefix("http://") || settings.publicURL.hasPrefix("https://"),
            "settings: public_url \(settings.publicURL.debugDescription)")
    return 0
}
