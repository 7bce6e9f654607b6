import Foundation
import TiplineCore
import TiplineProviders
import TiplineStore

/// `config/tipline.yaml`: the daemon's settings, with environment overrides and secrets resolved.
enum SettingsFile {
    static let knownKeys = ["server", "database", "timezone", "reference", "outbound_channel", "outbox", "channels", "secrets_file",
                            "notify_reporter_on_close", "inbound", "retention", "alerts", "limits", "training", "encryption"]

    /// Credential keys that are secrets: only from the environment or the secrets file, never from the config file.
    static let secretKeys = ["auth_token", "api_key", "api_secret", "api_key_secret", "signature_secret", "webhook_token", "api_token"]

    static let plainCredentialKeys = ["account_sid", "username", "api_key_sid", "signature_method"]

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

    /// Reads the settings at `path`, noting every problem; nil when the file cannot be read as YAML at all (then
    /// nothing says where the other files are).
    static func read(path: String, environment: [String: String], problems: inout ConfigProblems) -> Settings? {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            problems.add(ConfigError(file: path, key: "", problem: "cannot be read (\(error.localizedDescription))",
                                     fix: "pass --config PATH or set TIPLINE_CONFIG"))
            return nil
        }
        let yaml: YAMLReader
        do {
            yaml = try YAMLReader(file: path, text: text, environment: environment, environmentPrefix: "TIPLINE")
        } catch {
            problems.add(error)
            return nil
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        func resolve(_ relative: String) -> String {
            relative.hasPrefix("/") ? relative : folder.appendingPathComponent(relative).standardizedFileURL.path
        }

        let topLevel = problems.value([]) { try yaml.keys("") }
        for key in topLevel where !knownKeys.contains(key) {
            problems.add(yaml.error(key, "unknown setting (known: \(knownKeys.joined(separator: ", ")))"))
        }

        // MARK: - Server and time

        let host = problems.value("127.0.0.1") { try yaml.string("server.host", default: "127.0.0.1") }
        let port = problems.value(8080) { try yaml.int("server.port", default: 8080, range: 0...65535) }
        let defaultURL = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        let publicURL = problems.value(defaultURL) { try yaml.string("server.public_url", default: defaultURL) }
        let url = URL(string: publicURL)
        if url == nil || !["http", "https"].contains(url?.scheme ?? "") || url?.host == nil {
            problems.add(yaml.error("server.public_url", "must be an http:// or https:// URL, not '\(publicURL)'"))
        }
        let timeZoneName = problems.value("Asia/Ho_Chi_Minh") { try yaml.string("timezone", default: "Asia/Ho_Chi_Minh") }
        var timeZone = TimeZone(secondsFromGMT: 0)!
        if let zone = TimeZone(identifier: timeZoneName) {
            timeZone = zone
        } else {
            problems.add(yaml.error("timezone", "'\(timeZoneName)' is not a time zone name (for example Asia/Ho_Chi_Minh)"))
        }

        var outbox = Settings.OutboxSettings()
        outbox.maxAttempts = problems.value(8) { try yaml.int("outbox.max_attempts", default: 8, range: 1...100) }
        outbox.baseDelay = problems.value(5) { try yaml.double("outbox.base_delay_seconds", default: 5, range: 0.01...3600) }
        outbox.maxDelay = problems.value(900) { try yaml.double("outbox.max_delay_seconds", default: 900, range: 0.01...86400) }
        outbox.concurrency = problems.value(8) { try yaml.int("outbox.concurrency", default: 8, range: 1...256) }
        outbox.segmentsPerSecond = problems.value(20) { try yaml.double("outbox.segments_per_second", default: 20, range: 0.01...10000) }
        outbox.sendTimeout = problems.value(15) { try yaml.double("outbox.send_timeout_seconds", default: 15, range: 0.1...300) }

        // MARK: - Channels

        // Secrets file: YAML `channels: {NAME: {KEY: value}}`, kept outside git.
        var secrets: YAMLReader?
        let secretsPath = problems.value(nil) { try yaml.string("secrets_file") }
        if let secretsPath, !secretsPath.isEmpty {
            let resolved = resolve(secretsPath)
            EncryptionKeys.generateForTraining(path: resolved, yaml: yaml, environment: environment)
            do {
                let secretsText = try String(contentsOfFile: resolved, encoding: .utf8)
                secrets = try YAMLReader(file: resolved, text: secretsText)
            } catch let error as ConfigError {
                problems.add(error)
            } catch {
                problems.add(yaml.error("secrets_file", "cannot read '\(resolved)': \(error.localizedDescription)"))
            }
        }
        let source = CredentialSource(environment: environment, secrets: secrets)
        let cipher = EncryptionKeys.cipher(yaml: yaml, secrets: secrets, environment: environment, problems: &problems)

        var channels: [String: ChannelSettings] = [:]
        var ussdChannels: [String: Settings.UssdChannelSettings] = [:]
        // Enabled channels that have a problem: not reported again as unknown where another setting names them.
        var faulty = Set<String>()
        let channelNames = problems.value([]) { try yaml.keys("channels") }
        for name in channelNames {
            let base = "channels.\(name)"
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                problems.add(yaml.error(base, "channel names may use letters, digits, - and _ only"))
                continue
            }
            let enabled = problems.value(true) { try yaml.bool("\(base).enabled", default: true) }
            guard enabled else { continue }
            let before = problems.count
            if (try? yaml.string("\(base).provider")) == "ussd" {
                ussdChannels[name] = ussdChannel(name, yaml: yaml, credentials: source, problems: &problems)
            } else if let channel = smsChannel(name, yaml: yaml, credentials: source, publicURL: publicURL, problems: &problems) {
                channels[name] = channel
            }
            if problems.count > before { faulty.insert(name) }
        }
        let enabledList = channels.keys.sorted().joined(separator: ", ")
        let outboundChannel = problems.value(channels.keys.sorted().first ?? "") {
            try yaml.string("outbound_channel", default: channels.keys.sorted().first ?? "")
        }
        for name in ussdChannels.keys.sorted() {
            guard var ussd = ussdChannels[name] else { continue }
            if ussd.smsChannel.isEmpty { ussd.smsChannel = outboundChannel }
            if channels[ussd.smsChannel] == nil, !faulty.contains(ussd.smsChannel), !ussd.smsChannel.isEmpty {
                problems.add(yaml.error("channels.\(name).sms_channel", "'\(ussd.smsChannel)' is not an enabled SMS channel (enabled: \(enabledList))"))
            }
            ussdChannels[name] = ussd
        }
        if channels[outboundChannel] == nil, !faulty.contains(outboundChannel) {
            if channels.isEmpty, faulty.isEmpty {
                problems.add(yaml.error("outbound_channel", "no channel is enabled: enable one under channels"))
            } else if !channels.isEmpty {
                problems.add(yaml.error("outbound_channel", "'\(outboundChannel)' is not an enabled channel (enabled: \(enabledList))"))
            }
        }


        // MARK: - Training tools

        // The simulator and the phone page exist only when the config says so, and never beside a real provider.
        var training = Settings.Training()
        training.enabled = problems.value(false) { try yaml.bool("training.enabled", default: false) }
        if yaml.node("training.roles") != nil {
            let roles = problems.value(training.roles) { try yaml.stringList("training.roles") }
            for role in roles where !["admin", "hotline", "officer"].contains(role) {
                problems.add(yaml.error("training.roles", "'\(role)' is not a staff role (admin, hotline, officer)"))
            }
            training.roles = roles
        }
        let simulators = channels.values.filter { $0.provider == .simulator }.map(\.name).sorted()
        // A USSD channel that lets in an address other than this machine is one an outside aggregator reaches: real too.
        let loopback: Set<String> = ["127.0.0.1", "::1", "localhost"]
        let reachableUSSD = ussdChannels.values.filter { $0.allowedSources.contains { !loopback.contains($0) } }
        let real = (channels.values.filter { $0.provider != .simulator }.map(\.name) + reachableUSSD.map(\.name)).sorted()
        if training.enabled, !real.isEmpty {
            problems.add(yaml.error("training.enabled", "training tools never run beside a real provider channel (enabled: \(real.joined(separator: ", ")))",
                                    fix: "set training.enabled: false for production, or enabled: false on those channels for a training server"))
        }
        if !training.enabled {
            for name in simulators {
                problems.add(yaml.error("channels.\(name).provider", "the simulator is a training tool and training is off",
                                        fix: "set training.enabled: true on a training server (no real provider channel), or disable this channel"))
            }
        }

        // MARK: - Storage, reference files, retention

        var settings = Settings(
            configPath: path, host: host, port: port, publicURL: publicURL,
            maxBodyBytes: problems.value(65536) { try yaml.int("server.max_body_bytes", default: 65536, range: 1024...10_485_760) },
            databasePath: resolve(problems.value("../data/tipline.sqlite") { try yaml.string("database.path", default: "../data/tipline.sqlite") }),
            durableDatabase: (problems.value("full") { try yaml.string("database.synchronous", default: "full") }) != "normal",
            timeZone: timeZone,
            areasPath: resolve(problems.value("areas.csv") { try yaml.string("reference.areas", default: "areas.csv") }),
            placesPath: resolve(problems.value("places.csv") { try yaml.string("reference.places", default: "places.csv") }),
            rosterPath: resolve(problems.value("roster.yaml") { try yaml.string("reference.roster", default: "roster.yaml") }),
            repliesPath: resolve(problems.value("replies.yaml") { try yaml.string("reference.replies", default: "replies.yaml") }),
            escalationPath: resolve(problems.value("escalation.yaml") { try yaml.string("reference.escalation", default: "escalation.yaml") }),
            outboundChannel: outboundChannel, outbox: outbox, channels: channels, ussdChannels: ussdChannels,
            notifyReporterOnClose: problems.value(true) { try yaml.bool("notify_reporter_on_close", default: true) },
            concatWait: problems.value(60) { try yaml.double("inbound.concat_wait_seconds", default: 60, range: 1...3600) },
            channelLogDays: problems.value(30) { try yaml.int("retention.channel_log_days", default: 30, range: 1...3650) },
            closedCaseDays: problems.value(365) { try yaml.int("retention.closed_case_days", default: 365, range: 1...36500) },
            auditLogDays: problems.value(730) { try yaml.int("retention.audit_log_days", default: 730, range: 1...36500) },
            ussdPath: resolve(problems.value("ussd.yaml") { try yaml.string("reference.ussd", default: "ussd.yaml") }),
            vocabularyPath: resolve(problems.value("vocabulary.yaml") { try yaml.string("reference.vocabulary", default: "vocabulary.yaml") })
        )

        // MARK: - PostgreSQL (several instances on one database; `database.path` keeps the embedded SQLite file)

        if let url = problems.value(nil, { try yaml.string("database.url") }), !url.isEmpty {
            if yaml.node("database.path") != nil, environment["TIPLINE_DATABASE_URL"] == nil {
                problems.add(yaml.error("database.url", "and database.path are both set: a deployment has one database",
                                        fix: "keep database.url for PostgreSQL, or database.path for the embedded SQLite file"))
            }
            if yaml.node("database.password") != nil {
                problems.add(yaml.error("database.password", "is a secret and must not be in the config file",
                                        fix: "set TIPLINE_DATABASE_PASSWORD or put database: {password: …} in secrets_file"))
            }
            let password = environment["TIPLINE_DATABASE_PASSWORD"] ?? secrets?.node("database.password")?.scalar?.string
            do {
                var location = try PostgresLocation(url: url, password: password, relativeTo: folder.path)
                if URLComponents(string: url)?.password != nil {
                    problems.add(yaml.error("database.url", "holds a password, which is a secret and must not be in the config file",
                                            fix: "remove it from the URL; set TIPLINE_DATABASE_PASSWORD or database: {password: …} in secrets_file"))
                }
                location.maxConnections = problems.value(32) { try yaml.int("database.max_connections", default: 32, range: 2...1000) }
                settings.postgres = location
            } catch {
                problems.add(yaml.error("database.url", "\(error)"))
            }
        }

        // MARK: - Operator endpoints and clients behind the proxy

        if yaml.node("server.operator_token") != nil {
            problems.add(yaml.error("server.operator_token", "is a secret and must not be in the config file",
                                    fix: "set TIPLINE_SERVER_OPERATOR_TOKEN or put server: {operator_token: …} in secrets_file"))
        }
        let operatorToken = environment["TIPLINE_SERVER_OPERATOR_TOKEN"] ?? secrets?.node("server.operator_token")?.scalar?.string
        if let operatorToken, !operatorToken.isEmpty {
            if operatorToken.count < 16 || operatorToken.contains(where: { $0.isWhitespace }) {
                problems.add(ConfigError(file: "environment or secrets_file", key: "server.operator_token",
                                         problem: "must be 16 characters or more, without spaces",
                                         fix: "make one with: openssl rand -hex 24"))
            }
            settings.operatorToken = operatorToken
        }
        if let listen = problems.value(nil, { try yaml.string("server.operator_listen") }), !listen.isEmpty {
            if let address = listenAddress(listen), address.port != port || address.port == 0 {
                settings.operatorListen = address
            } else {
                problems.add(yaml.error("server.operator_listen", "must be HOST:PORT on another port than server.port, not '\(listen)'",
                                        fix: "for example 127.0.0.1:9091"))
            }
        }
        if yaml.node("server.trusted_proxies") != nil {
            settings.trustedProxies = problems.value(settings.trustedProxies) { try yaml.stringList("server.trusted_proxies") }
        }
        if let list = environment["TIPLINE_SERVER_TRUSTED_PROXIES"] {
            settings.trustedProxies = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }

        // MARK: - Alerts and limits

        settings.alertBundleWindow = problems.value(60) { try yaml.double("alerts.bundle_window_seconds", default: 60, range: 0...3600) }
        settings.confirmOfficerNumbers = problems.value(true) { try yaml.bool("alerts.confirm_officer_numbers", default: true) }
        var limits = AbuseLimits()
        limits.inboundPerSender = problems.value(limits.inboundPerSender) {
            try yaml.int("limits.inbound_per_sender", default: limits.inboundPerSender, range: 1...100_000)
        }
        limits.inboundWindow = problems.value(limits.inboundWindow / 60) {
            try yaml.double("limits.inbound_window_minutes", default: limits.inboundWindow / 60, range: 1...1440)
        } * 60
        limits.smsPerRecipientPerHour = problems.value(limits.smsPerRecipientPerHour) {
            try yaml.int("limits.sms_per_recipient_per_hour", default: limits.smsPerRecipientPerHour, range: 1...100_000)
        }
        limits.unreadableBeforeSilence = problems.value(limits.unreadableBeforeSilence) {
            try yaml.int("limits.unreadable_before_silence", default: limits.unreadableBeforeSilence, range: 1...1000)
        }
        if yaml.node("limits.reply_country_codes") != nil {
            let codes = problems.value(limits.replyCountryCodes) { try yaml.stringList("limits.reply_country_codes") }
            for code in codes where code.isEmpty || !code.allSatisfy({ $0.isASCII && $0.isNumber }) {
                problems.add(yaml.error("limits.reply_country_codes", "'\(code)' is not a country calling code (digits only, e.g. \"84\" for Vietnam)"))
            }
            limits.replyCountryCodes = codes
        }
        settings.limits = limits
        settings.unclosedWarnDays = problems.value(90) { try yaml.int("retention.unclosed_warn_days", default: 90, range: 1...36500) }
        settings.unclosedCaseDays = problems.value(180) { try yaml.int("retention.unclosed_case_days", default: 180, range: 1...36500) }
        settings.unlinkedDays = problems.value(30) { try yaml.int("retention.unlinked_days", default: 30, range: 1...36500) }
        if settings.unclosedCaseDays <= settings.unclosedWarnDays {
            problems.add(yaml.error("retention.unclosed_case_days", "must be more than retention.unclosed_warn_days (\(settings.unclosedWarnDays)): staff are warned first"))
        }
        settings.training = training
        settings.cipher = cipher
        return settings
    }

    /// `HOST:PORT` (`[::1]:9091` for IPv6); nil when it is not one.
    static func listenAddress(_ text: String) -> Settings.ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace || $0 == "/" }) else { return nil }
        return Settings.ListenAddress(host: host, port: port)
    }

    /// Where a channel's secrets come from: the environment first, then the secrets file.
    struct CredentialSource {
        let environment: [String: String]
        let secrets: YAMLReader?

        func value(channel: String, key: String) -> String? {
            environment[Settings.envName(channel, key)] ?? secrets?.node("channels.\(channel).\(key)")?.scalar?.string
        }
    }

    /// An SMS channel; nil when its provider is missing or unknown (then nothing else about it can be checked).
    static func smsChannel(_ name: String, yaml: YAMLReader, credentials source: CredentialSource, publicURL: String,
                           problems: inout ConfigProblems) -> ChannelSettings? {
        let base = "channels.\(name)"
        let providers = ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard yaml.node("\(base).provider") != nil else {
            problems.add(yaml.error(base, "needs a provider: one of \(providers)"))
            return nil
        }
        guard let provider = problems.attempt({ try yaml.choice("\(base).provider", default: ProviderKind.simulator) }) else { return nil }
        let number = problems.value("") { try yaml.requiredString("\(base).number", hint: "the number or short code this channel sends from") }
        let verify = problems.value(provider != .simulator) { try yaml.bool("\(base).verify_requests", default: provider != .simulator) }
        var baseURL = publicURL.trimmingSuffix("/") + "/simulator"
        if provider != .simulator {
            baseURL = problems.value("") { try yaml.requiredString("\(base).base_url", hint: "the provider API's base URL") }
        }
        var credentials: [String: String] = [:]
        for key in plainCredentialKeys {
            if let value = problems.value(nil, { try yaml.string("\(base).\(key)") }) { credentials[key] = value }
        }
        for key in secretKeys {
            if yaml.node("\(base).\(key)") != nil {
                problems.add(yaml.error("\(base).\(key)", "is a secret and must not be in the config file",
                                        fix: "set \(Settings.envName(name, key)) or put it in secrets_file"))
            }
            if let value = source.value(channel: name, key: key) { credentials[key] = value }
        }
        if provider == .simulator {
            credentials["account_sid"] = credentials["account_sid"] ?? "ACsimulator"
            // Only this process knows it: nobody else can post to the simulator's provider endpoint.
            credentials["auth_token"] = credentials["auth_token"] ?? UUID().uuidString
        }
        for key in requiredCredentials(provider, verify: verify) where (credentials[key] ?? "").isEmpty {
            let how = secretKeys.contains(key) ? "set \(Settings.envName(name, key)) or put it in secrets_file" : "add \(key) under \(base)"
            problems.add(ConfigError(file: yaml.file, line: yaml.line(of: base), key: "\(base).\(key)",
                                     problem: "the \(provider.rawValue) channel needs \(key)", fix: "\(how) (or set enabled: false)"))
        }
        return ChannelSettings(
            name: name, provider: provider, number: number, baseURL: baseURL, credentials: credentials,
            publicURL: publicURL, verifyRequests: verify,
            allowedSources: problems.value([]) { try yaml.stringList("\(base).allowed_sources") }
        )
    }

    /// A USSD channel (Africa's Talking protocol). Its requests are verified unless `verify_requests: false`, by the
    /// webhook token, the source allow-list, or both — at least one of them must be set.
    static func ussdChannel(_ name: String, yaml: YAMLReader, credentials source: CredentialSource,
                            problems: inout ConfigProblems) -> Settings.UssdChannelSettings {
        let base = "channels.\(name)"
        let tokenVariable = Settings.envName(name, "webhook_token")
        if yaml.node("\(base).webhook_token") != nil {
            problems.add(yaml.error("\(base).webhook_token", "is a secret and must not be in the config file",
                                    fix: "set \(tokenVariable) or put it in secrets_file"))
        }
        let verify = problems.value(true) { try yaml.bool("\(base).verify_requests", default: true) }
        let token = source.value(channel: name, key: "webhook_token").flatMap { $0.isEmpty ? nil : $0 }
        let allowedSources = problems.value([]) { try yaml.stringList("\(base).allowed_sources") }
        if verify, token == nil, allowedSources.isEmpty {
            let key = "\(base).verify_requests"
            problems.add(ConfigError(
                file: yaml.file, line: yaml.line(of: key) ?? yaml.line(of: base), key: key,
                problem: "is on, but the channel has neither a webhook token nor allowed_sources to check requests against",
                fix: "set \(tokenVariable) (or webhook_token in secrets_file), list the aggregator's addresses under allowed_sources, "
                    + "or set verify_requests: false"))
        }
        return Settings.UssdChannelSettings(
            name: name,
            serviceCode: problems.value("*123#") { try yaml.string("\(base).service_code", default: "*123#") },
            smsChannel: problems.value("") { try yaml.string("\(base).sms_channel", default: "") },
            sessionTimeout: problems.value(180) { try yaml.double("\(base).session_timeout_seconds", default: 180, range: 10...3600) },
            verifyRequests: verify, webhookToken: token, allowedSources: allowedSources)
    }
}
