import Foundation
import TiplineCore
import TiplineProviders

/// The daemon's settings from `config/tipline.yaml`, with environment overrides and secrets resolved.
public struct Settings: Sendable {
    public var configPath: String
    public var host: String
    public var port: Int
    /// How providers reach this server; used for signatures and callback URLs.
    public var publicURL: String
    public var maxBodyBytes: Int
    public var databasePath: String
    public var durableDatabase: Bool
    public var timeZone: TimeZone
    public var areasPath: String
    public var placesPath: String
    public var rosterPath: String
    public var repliesPath: String
    public var escalationPath: String
    public var outboundChannel: String
    public var outbox: OutboxSettings
    /// Enabled channels, by name.
    public var channels: [String: ChannelSettings]
    /// Enabled USSD channels (Africa's Talking protocol), by name.
    public var ussdChannels: [String: UssdChannelSettings] = [:]
    /// Tell the reporter when their report is closed.
    public var notifyReporterOnClose: Bool
    /// How long to wait for the missing parts of a multi-part message before parsing what arrived.
    public var concatWait: Double
    /// Days the channel log is kept.
    public var channelLogDays: Int
    /// Days after closing before a case's raw text and phone numbers are erased.
    public var closedCaseDays: Int
    /// Days the audit log is kept.
    public var auditLogDays: Int
    public var ussdPath: String
    public var vocabularyPath: String

    public struct UssdChannelSettings: Sendable {
        public var name: String
        public var serviceCode: String
        /// The SMS channel the confirmation SMS goes through.
        public var smsChannel: String
        public var sessionTimeout: Double
        public var verifyRequests: Bool
        public var webhookToken: String?
        public var allowedSources: [String]
    }

    public struct OutboxSettings: Sendable {
        public var maxAttempts: Int = 8
        public var baseDelay: Double = 5
        public var maxDelay: Double = 900
        public var concurrency: Int = 8
        public var segmentsPerSecond: Double = 20
        public var sendTimeout: Double = 15
        public init() {}
    }

    /// Credential keys that are secrets: only from the environment or the secrets file, never from the config file.
    static let secretKeys = ["auth_token", "api_key", "api_secret", "api_key_secret", "signature_secret", "webhook_token", "api_token"]

    /// What each provider needs, and which of it is secret.
    static func requiredCredentials(_ provider: ProviderKind, verify: Bool) -> [String] {
        switch provider {
        case .twilio: ["account_sid", "auth_token"]
        case .africastalking: ["username", "api_key"] + (verify ? ["webhook_token"] : [])
        case .vonage: ["api_key", "api_secret"] + (verify ? ["signature_secret"] : [])
        case .generic: ["api_token"] + (verify ? ["webhook_token"] : [])
        case .simulator: []
        }
    }

    static let plainCredentialKeys = ["account_sid", "username", "api_key_sid", "signature_method"]

    /// Reads and checks `path`; every problem names the file, line and key.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Settings {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, key: "", problem: "cannot be read (\(error.localizedDescription)); pass --config PATH or set TIPLINE_CONFIG")
        }
        let yaml = try YAMLReader(file: path, text: text, environment: environment, environmentPrefix: "TIPLINE")
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ relative: String) -> String {
            relative.hasPrefix("/") ? relative : folder.appendingPathComponent(relative).standardizedFileURL.path
        }

        let known = ["server", "database", "timezone", "reference", "outbound_channel", "outbox", "channels", "secrets_file",
                     "notify_reporter_on_close", "inbound", "retention"]
        for key in try yaml.keys("") where !known.contains(key) {
            throw yaml.error(key, "unknown setting (known: \(known.joined(separator: ", ")))")
        }

        let host = try yaml.string("server.host", default: "127.0.0.1")
        let port = try yaml.int("server.port", default: 8080, range: 0...65535)
        let publicURL = try yaml.string("server.public_url", default: "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)")
        guard let url = URL(string: publicURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw yaml.error("server.public_url", "must be an http:// or https:// URL, not '\(publicURL)'")
        }
        let timeZoneName = try yaml.string("timezone", default: "Asia/Ho_Chi_Minh")
        guard let timeZone = TimeZone(identifier: timeZoneName) else {
            throw yaml.error("timezone", "'\(timeZoneName)' is not a time zone name (for example Asia/Ho_Chi_Minh)")
        }
        var outbox = OutboxSettings()
        outbox.maxAttempts = try yaml.int("outbox.max_attempts", default: 8, range: 1...100)
        outbox.baseDelay = try yaml.double("outbox.base_delay_seconds", default: 5, range: 0.01...3600)
        outbox.maxDelay = try yaml.double("outbox.max_delay_seconds", default: 900, range: 0.01...86400)
        outbox.concurrency = try yaml.int("outbox.concurrency", default: 8, range: 1...256)
        outbox.segmentsPerSecond = try yaml.double("outbox.segments_per_second", default: 20, range: 0.01...10000)
        outbox.sendTimeout = try yaml.double("outbox.send_timeout_seconds", default: 15, range: 0.1...300)

        // Secrets file: YAML `channels: {NAME: {KEY: value}}`, kept outside git.
        var secrets: YAMLReader?
        if let secretsPath = try yaml.string("secrets_file"), !secretsPath.isEmpty {
            let resolved = resolve(secretsPath)
            do {
                let secretsText = try String(contentsOfFile: resolved, encoding: .utf8)
                secrets = try YAMLReader(file: resolved, text: secretsText)
            } catch let error as ConfigError {
                throw error
            } catch {
                throw yaml.error("secrets_file", "cannot read '\(resolved)': \(error.localizedDescription)")
            }
        }

        var channels: [String: ChannelSettings] = [:]
        var ussdChannels: [String: UssdChannelSettings] = [:]
        for name in try yaml.keys("channels") {
            let base = "channels.\(name)"
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }), !name.isEmpty else {
                throw yaml.error(base, "channel names may use letters, digits, - and _ only")
            }
            guard try yaml.bool("\(base).enabled", default: true) else { continue }
            if try yaml.string("\(base).provider") == "ussd" {
                let verify = try yaml.bool("\(base).verify_requests", default: false)
                let token = environment[envName(name, "webhook_token")] ?? secrets?.node("channels.\(name).webhook_token")?.scalar?.string
                if verify, (token ?? "").isEmpty {
                    throw yaml.error(base, "verify_requests needs a webhook token: set \(envName(name, "webhook_token")) or put it in secrets_file")
                }
                ussdChannels[name] = UssdChannelSettings(
                    name: name, serviceCode: try yaml.string("\(base).service_code", default: "*123#"),
                    smsChannel: try yaml.string("\(base).sms_channel", default: ""),
                    sessionTimeout: try yaml.double("\(base).session_timeout_seconds", default: 180, range: 10...3600),
                    verifyRequests: verify, webhookToken: token, allowedSources: try yaml.stringList("\(base).allowed_sources"))
                continue
            }
            let provider = try yaml.choice("\(base).provider", default: ProviderKind.simulator)
            if yaml.node("\(base).provider") == nil {
                throw yaml.error(base, "needs a provider: one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let number = try yaml.requiredString("\(base).number", hint: "the number or short code this channel sends from")
            let verify = try yaml.bool("\(base).verify_requests", default: provider != .simulator)
            let baseURL = provider == .simulator
                ? publicURL.trimmingSuffix("/") + "/simulator"
                : try yaml.requiredString("\(base).base_url", hint: "the provider API's base URL")
            var credentials: [String: String] = [:]
            for key in plainCredentialKeys {
                if let value = try yaml.string("\(base).\(key)") { credentials[key] = value }
            }
            for key in secretKeys {
                if yaml.node("\(base).\(key)") != nil {
                    throw yaml.error("\(base).\(key)", "is a secret and must not be in the config file: set \(envName(name, key)) or put it in secrets_file")
                }
                if let value = environment[envName(name, key)] ?? secrets?.node("channels.\(name).\(key)")?.scalar?.string {
                    credentials[key] = value
                }
            }
            if provider == .simulator {
                credentials["account_sid", default: "ACsimulator"] = credentials["account_sid"] ?? "ACsimulator"
                credentials["auth_token", default: "simulator"] = credentials["auth_token"] ?? "simulator"
            }
            for key in requiredCredentials(provider, verify: verify) where (credentials[key] ?? "").isEmpty {
                let how = secretKeys.contains(key) ? "set \(envName(name, key)) or put it in secrets_file" : "add \(key) under \(base)"
                throw ConfigError(file: path, line: yaml.node(base)?.mark.map { $0.line }, key: "\(base).\(key)",
                                  problem: "the \(provider.rawValue) channel needs \(key): \(how) (or set enabled: false)")
            }
            channels[name] = ChannelSettings(
                name: name, provider: provider, number: number, baseURL: baseURL, credentials: credentials,
                publicURL: publicURL, verifyRequests: verify,
                allowedSources: try yaml.stringList("\(base).allowed_sources")
            )
        }
        let outboundChannel = try yaml.string("outbound_channel", default: channels.keys.sorted().first ?? "")
        for (name, var ussd) in ussdChannels {
            if ussd.smsChannel.isEmpty { ussd.smsChannel = outboundChannel }
            guard channels[ussd.smsChannel] != nil else {
                throw yaml.error("channels.\(name).sms_channel", "'\(ussd.smsChannel)' is not an enabled SMS channel (enabled: \(channels.keys.sorted().joined(separator: ", ")))")
            }
            ussdChannels[name] = ussd
        }
        guard channels[outboundChannel] != nil else {
            throw yaml.error("outbound_channel", channels.isEmpty
                ? "no channel is enabled: enable one under channels"
                : "'\(outboundChannel)' is not an enabled channel (enabled: \(channels.keys.sorted().joined(separator: ", ")))")
        }

        return Settings(
            configPath: path, host: host, port: port, publicURL: publicURL,
            maxBodyBytes: try yaml.int("server.max_body_bytes", default: 65536, range: 1024...10_485_760),
            databasePath: resolve(try yaml.string("database.path", default: "../data/tipline.sqlite")),
            durableDatabase: try yaml.string("database.synchronous", default: "full") != "normal",
            timeZone: timeZone,
            areasPath: resolve(try yaml.string("reference.areas", default: "areas.csv")),
            placesPath: resolve(try yaml.string("reference.places", default: "places.csv")),
            rosterPath: resolve(try yaml.string("reference.roster", default: "roster.yaml")),
            repliesPath: resolve(try yaml.string("reference.replies", default: "replies.yaml")),
            escalationPath: resolve(try yaml.string("reference.escalation", default: "escalation.yaml")),
            outboundChannel: outboundChannel, outbox: outbox, channels: channels, ussdChannels: ussdChannels,
            notifyReporterOnClose: try yaml.bool("notify_reporter_on_close", default: true),
            concatWait: try yaml.double("inbound.concat_wait_seconds", default: 60, range: 1...3600),
            channelLogDays: try yaml.int("retention.channel_log_days", default: 30, range: 1...3650),
            closedCaseDays: try yaml.int("retention.closed_case_days", default: 365, range: 1...36500),
            auditLogDays: try yaml.int("retention.audit_log_days", default: 730, range: 1...36500),
            ussdPath: resolve(try yaml.string("reference.ussd", default: "ussd.yaml")),
            vocabularyPath: resolve(try yaml.string("reference.vocabulary", default: "vocabulary.yaml"))
        )
    }

    static func envName(_ channel: String, _ key: String) -> String {
        "TIPLINE_CHANNEL_\(channel.uppercased().replacingOccurrences(of: "-", with: "_"))_\(key.uppercased())"
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}

extension Settings {
    /// The cut-offs of a retention purge at `now`.
    public func retentionCutoffs(now: Date) -> (closed: Date, channelLog: Date, audit: Date) {
        (now.addingTimeInterval(-Double(closedCaseDays) * 86400), now.addingTimeInterval(-Double(channelLogDays) * 86400),
         now.addingTimeInterval(-Double(auditLogDays) * 86400))
    }
}
