import Foundation
import TiplineCore
import TiplineProviders
import TiplineStore

/// The daemon's settings from `config/tipline.yaml`, with environment overrides and secrets resolved.
public struct Settings: Sendable {
    public var configPath: String
    public var host: String
    public var port: Int
    /// How providers reach this server; used for signatures and callback URLs.
    public var publicURL: String
    public var maxBodyBytes: Int
    /// The bearer token `/metrics` and `/health/ready` require (`server.operator_token`, from the environment or the
    /// secrets file, never the config file); nil leaves them open.
    public var operatorToken: String? = nil
    /// A second listener serving only `/metrics` and the health checks (`server.operator_listen`, e.g. 127.0.0.1:9091);
    /// nil serves them on the main listener.
    public var operatorListen: ListenAddress? = nil
    /// Peers whose `X-Forwarded-For` names the client (the reverse proxy), for the per-address sign-in throttle.
    public var trustedProxies: [String] = ["127.0.0.1", "::1"]
    /// The scrypt cost of new password hashes; weaker ones are rehashed at sign-in. Lowered by tests only.
    var passwordCost: StaffAuth.Cost = .standard
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
    /// One alert SMS per officer per window at most: alerts within it leave together as one SMS (0: never bundle).
    public var alertBundleWindow: Double = 60
    /// Roster numbers must answer an invitation (`XACNHAN code`) before they receive a child's details.
    public var confirmOfficerNumbers = true
    /// Field-level encryption at rest (``FieldCipher``): the keys, or `.plaintext` with `encryption: off`.
    public var cipher: FieldCipher = .plaintext

    /// PostgreSQL (`database.url`), for several instances on one database; nil keeps the SQLite file at `databasePath`.
    public var postgres: PostgresLocation? = nil

    /// Where the database is, for logs: the SQLite file's path or the PostgreSQL URL without its password.
    public var databaseDescription: String { postgres?.redacted ?? databasePath }

    /// Opens the database these settings name, with their cipher (PostgreSQL: connects and migrates).
    public func openDatabase() async throws -> AppDatabase {
        if let postgres { return try await AppDatabase.open(postgres: postgres, cipher: cipher) }
        return try AppDatabase.open(path: databasePath, durable: durableDatabase, cipher: cipher)
    }

    /// Why fictional cases and queued replies (`tipline seed`) may not be written here, or nil when they may: only a
    /// scratch deployment whose outbound channel's API is this machine (the simulator, a fake provider on loopback)
    /// qualifies — never one where an SMS could reach a real number or a real case log.
    public var seedingRefusal: String? {
        let channel = channels[outboundChannel]
        let host = channel.flatMap { URLComponents(string: $0.baseURL)?.host } ?? ""
        if let channel, channel.provider == .simulator || ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host) { return nil }
        return "refused: the outbound channel '\(outboundChannel)' sends to \(host.isEmpty ? "a provider" : host), "
            + "not to this machine. tipline seed fills a database with fictional cases and queued replies: run it only on a "
            + "scratch deployment whose channel is the simulator or a fake provider on loopback (scripts/scale-test makes one)"
    }

    /// Training tools: the simulator channel, `/simulator/*` and the phone page.
    public var training = Training()

    public struct Training: Sendable, Equatable {
        /// Off unless the config turns it on; refused beside a real provider channel.
        public var enabled = false
        /// Staff roles that may use the training tools.
        public var roles = ["admin", "hotline"]
        public init() {}
    }

    /// What one number can make tipline send (see ``AbuseLimits``).
    public var limits = AbuseLimits()
    /// How long to wait for the missing parts of a multi-part message before parsing what arrived.
    public var concatWait: Double
    /// Days the channel log is kept.
    public var channelLogDays: Int
    /// Days after closing before a case's raw text and phone numbers are erased.
    public var closedCaseDays: Int
    /// Days the audit log is kept.
    public var auditLogDays: Int
    /// A case never closed: staff are warned at this age (days), and its personal values erased at the next.
    public var unclosedWarnDays = 90
    public var unclosedCaseDays = 180
    /// Days messages and answers tied to no report, USSD sessions and group-warning keys are kept.
    public var unlinkedDays = 30
    public var ussdPath: String
    public var vocabularyPath: String

    /// A host and port to listen on.
    public struct ListenAddress: Sendable, Equatable {
        public var host: String
        public var port: Int
    }

    public struct UssdChannelSettings: Sendable {
        public var name: String
        public var serviceCode: String
        /// The SMS channel the confirmation SMS goes through.
        public var smsChannel: String
        public var sessionTimeout: Double
        /// Whether requests must carry the webhook token (when one is set) and come from an allowed source (when
        /// any is listed); on unless `verify_requests: false`.
        public var verifyRequests: Bool
        public var webhookToken: String?
        /// Source addresses allowed to call the USSD callback; empty allows all.
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

    /// Reads and checks `path`; every problem names the file, line and key. Throws the first problem found:
    /// ``Deployment/load(configPath:environment:)`` reports them all.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> Settings {
        var problems = ConfigProblems()
        let settings = SettingsFile.read(path: path, environment: environment, problems: &problems)
        if let first = problems.errors.first { throw first }
        guard let settings else { throw ConfigError(file: path, key: "", problem: "cannot be read") }
        return settings
    }

    /// The environment variable holding a channel's credential (`TIPLINE_CHANNEL_TWILIO_AUTH_TOKEN`).
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
    /// What retention keeps, and how long (`retention:` in tipline.yaml; docs/operations.md, "Retention").
    public var retention: RetentionPolicy {
        var policy = RetentionPolicy()
        policy.closedCaseDays = closedCaseDays
        policy.channelLogDays = channelLogDays
        policy.auditLogDays = auditLogDays
        policy.unclosedWarnDays = unclosedWarnDays
        policy.unclosedCaseDays = unclosedCaseDays
        policy.unlinkedDays = unlinkedDays
        return policy
    }
}
