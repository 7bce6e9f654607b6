import CurlHTTP
import Foundation
import TiplineCore

/// The provider types a channel can use.
public enum ProviderKind: String, Sendable, Codable, CaseIterable {
    case twilio
    case africastalking
    case vonage
    case generic
    /// The built-in stand-in: Twilio's wire format, served by tipline itself.
    case simulator
}

/// What a channel knows about its provider account. Secrets come from the environment or a secrets file, never git.
public struct ChannelSettings: Sendable {
    public var name: String
    public var provider: ProviderKind
    /// The number or short code messages are sent from.
    public var number: String
    /// The provider API's base URL (overridable so tests and the simulator can stand in).
    public var baseURL: String
    /// Provider credentials by key (`account_sid`, `auth_token`, `api_key`, …).
    public var credentials: [String: String]
    /// The server's public URL as providers see it (`https://tipline.example.org`), used for signatures
    /// (with the request's path) and for the delivery-status callback (`…/channels/<name>/status`).
    public var publicURL: String?
    /// Whether inbound webhooks must carry a valid signature or token.
    public var verifyRequests: Bool
    /// Source addresses allowed to call the webhooks; empty allows all.
    public var allowedSources: [String]

    public init(name: String, provider: ProviderKind, number: String, baseURL: String, credentials: [String: String] = [:],
                publicURL: String? = nil, verifyRequests: Bool = false, allowedSources: [String] = []) {
        self.name = name
        self.provider = provider
        self.number = number
        self.baseURL = baseURL
        self.credentials = credentials
        self.publicURL = publicURL
        self.verifyRequests = verifyRequests
        self.allowedSources = allowedSources
    }

    public func credential(_ key: String) -> String { credentials[key] ?? "" }
}

/// A webhook call as it reached the server.
public struct WebhookRequest: Sendable {
    public var method: String
    /// The path and query as received (`/channels/twilio/sms?token=…`).
    public var pathAndQuery: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var sourceAddress: String?

    public init(method: String, pathAndQuery: String, headers: [(name: String, value: String)], body: [UInt8], sourceAddress: String? = nil) {
        self.method = method
        self.pathAndQuery = pathAndQuery
        self.headers = headers
        self.body = body
        self.sourceAddress = sourceAddress
    }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }

    public var contentType: String { (header("content-type") ?? "").lowercased() }

    /// Query parameters.
    public var query: [(String, String)] {
        guard let mark = pathAndQuery.firstIndex(of: "?") else { return [] }
        return FormBody.parse(String(pathAndQuery[pathAndQuery.index(after: mark)...]))
    }

    /// Form body parameters, or query parameters for a GET.
    public func formParameters() throws(WebhookError) -> [(String, String)] {
        if method == "GET" { return query }
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw WebhookError(.badRequest, "expected a form body (application/x-www-form-urlencoded), got '\(contentType.isEmpty ? "none" : contentType)'")
        }
        guard let text = String(validating: body, as: UTF8.self) else {
            throw WebhookError(.badRequest, "form body is not UTF-8")
        }
        return FormBody.parse(text)
    }
}

/// A message a provider delivered to us.
public struct InboundSMS: Sendable, Equatable {
    /// The provider's id: a retry of the same message carries the same one.
    public var providerMessageID: String
    public var from: String
    public var to: String?
    public var text: String
    public var receivedAt: Date?
    /// For a message in parts (Vonage `concat`): reference, total, this part's number.
    public var part: Part?

    public struct Part: Sendable, Equatable {
        public var reference: String
        public var total: Int
        public var number: Int
    }

    public init(providerMessageID: String, from: String, to: String?, text: String, receivedAt: Date? = nil, part: Part? = nil) {
        self.providerMessageID = providerMessageID
        self.from = from
        self.to = to
        self.text = SMSText.cleanInbound(text)
        self.receivedAt = receivedAt
        self.part = part
    }
}

/// One USSD callback: the aggregator's session, the phone, and every answer of the session so far.
public struct UssdRequest: Sendable, Equatable {
    /// The aggregator's id for the session: every screen of one dial carries the same one.
    public var sessionID: String
    /// The code dialled (`*123#`); nil when the aggregator did not send it.
    public var serviceCode: String?
    public var phoneNumber: String
    /// The caller's mobile network, when sent.
    public var networkCode: String?
    /// Every answer of the session joined by `*` (empty on the first screen), as sent: a `*` typed inside an answer stays.
    public var text: String

    public init(sessionID: String, serviceCode: String?, phoneNumber: String, networkCode: String? = nil, text: String) {
        self.sessionID = sessionID
        self.serviceCode = serviceCode
        self.phoneNumber = phoneNumber
        self.networkCode = networkCode
        self.text = text
    }
}

/// A provider's delivery report for a message we sent.
public struct DeliveryReport: Sendable, Equatable {
    public enum Outcome: String, Sendable { case pending, sent, delivered, failed }
    public var providerMessageID: String
    public var outcome: Outcome
    /// The provider's status word and error code, for the record.
    public var status: String
    public var error: String?

    public init(providerMessageID: String, outcome: Outcome, status: String, error: String? = nil) {
        self.providerMessageID = providerMessageID
        self.outcome = outcome
        self.status = status
        self.error = error
    }
}

/// What a provider said to a send.
public enum SendOutcome: Sendable, Equatable {
    case accepted(providerMessageID: String?)
    /// Try again later (connection error, timeout, 5xx, 429, throttled).
    case retryable(String)
    /// Do not try again (bad number, opted out, bad credentials).
    case permanent(String)
}

/// A rejected webhook: the HTTP status and a short reason for the provider's logs.
public struct WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Status: Int, Sendable { case badRequest = 400, forbidden = 403, payloadTooLarge = 413 }
    public var status: Status
    public var reason: String
    public init(_ status: Status, _ reason: String) {
        self.status = status
        self.reason = reason
    }
    public var description: String { "\(status.rawValue): \(reason)" }
}

/// One provider's wire format: decoding its webhooks and building its API calls.
public protocol SMSProvider: Sendable {
    var settings: ChannelSettings { get }

    /// Checks the request came from the provider (signature, token, source address); throws 403 otherwise.
    func verify(_ request: WebhookRequest) throws(WebhookError)
    func decodeInbound(_ request: WebhookRequest) throws(WebhookError) -> InboundSMS
    func decodeDeliveryReport(_ request: WebhookRequest) throws(WebhookError) -> DeliveryReport
    /// The body and content type that answer an accepted inbound webhook.
    var inboundAnswer: (contentType: String, body: String) { get }
    /// The API call that sends `text` to `recipient`.
    func sendRequest(to recipient: String, text: String) -> CurlRequest
    func interpret(_ response: CurlResponse) -> SendOutcome
}

/// A USSD aggregator's wire format: checking and decoding its session callbacks. The answer to each is the
/// `text/plain` screen, `CON …` (show and wait) or `END …` (show and close).
public protocol UssdProvider: Sendable {
    /// Checks the request came from the aggregator (token, source address); throws 403 otherwise.
    func verify(_ request: WebhookRequest) throws(WebhookError)
    /// The callback's fields; throws 400 naming what is missing.
    func decode(_ request: WebhookRequest) throws(WebhookError) -> UssdRequest
}

extension SMSProvider {
    public var inboundAnswer: (contentType: String, body: String) { ("text/plain; charset=utf-8", "OK") }

    /// The delivery-status URL the gateway gives the provider with each send.
    public var statusCallbackURL: String? {
        settings.publicURL.map { $0.trimmingSuffix("/") + "/channels/\(settings.name)/status" }
    }

    /// The common source allow-list check.
    public func verifySource(_ request: WebhookRequest) throws(WebhookError) {
        guard !settings.allowedSources.isEmpty else { return }
        guard let source = request.sourceAddress, settings.allowedSources.contains(source) else {
            throw WebhookError(.forbidden, "source address not allowed for this channel")
        }
    }

    /// The per-channel token in the `token` query parameter or the `X-Tipline-Token` header.
    public func verifyToken(_ request: WebhookRequest) throws(WebhookError) {
        guard settings.verifyRequests else { return }
        let expected = settings.credential("webhook_token")
        let given = request.header("x-tipline-token") ?? request.query.first { $0.0 == "token" }?.1 ?? ""
        guard !expected.isEmpty, constantTimeEquals(Array(given.utf8), Array(expected.utf8)) else {
            throw WebhookError(.forbidden, "missing or wrong webhook token")
        }
    }

    /// The usual outcome of an HTTP status: 2xx accepted, 429 and 5xx retry, other 4xx permanent.
    public func outcome(forStatus status: Int, id: String?, detail: String) -> SendOutcome {
        switch status {
        case 200..<300: .accepted(providerMessageID: id)
        case 429, 500..<600: .retryable("HTTP \(status): \(detail)")
        default: .permanent("HTTP \(status): \(detail)")
        }
    }
}

/// Whether a provider's timestamp is short printable ASCII — all a real one is, and all Foundation's date parsers
/// can be given safely (some non-ASCII input makes them trap).
func isPlainTimestamp(_ text: String) -> Bool {
    text.utf8.count <= 40 && text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
}

public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}

/// `application/x-www-form-urlencoded` encoding and decoding, keeping order and repeated names.
public enum FormBody {
    /// Decodes a form body byte by byte (`+` is a space, `%XX` a byte); malformed escapes are kept as typed.
    public static func parse(_ text: String) -> [(String, String)] {
        var pairs: [(String, String)] = []
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var bytes = Array(text.utf8)[...]
        func flush() {
            if !name.isEmpty || inValue {
                pairs.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            }
            name.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            inValue = false
        }
        while let byte = bytes.popFirst() {
            switch byte {
            case UInt8(ascii: "&"):
                flush()
            case UInt8(ascii: "=") where !inValue:
                inValue = true
            default:
                var decoded = byte
                if byte == UInt8(ascii: "+") {
                    decoded = UInt8(ascii: " ")
                } else if byte == UInt8(ascii: "%"), bytes.count >= 2, let high = hex(bytes[bytes.startIndex]),
                          let low = hex(bytes[bytes.startIndex + 1]) {
                    decoded = high << 4 | low
                    bytes.removeFirst(2)
                }
                if inValue { value.append(decoded) } else { name.append(decoded) }
            }
        }
        flush()
        return pairs
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public static func encode(_ pairs: [(String, String)]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(pairs.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count * 3 + 2 })
        for (index, (name, value)) in pairs.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: "&")) }
            append(name, to: &bytes)
            bytes.append(UInt8(ascii: "="))
            append(value, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Percent-encodes every byte but RFC 3986's unreserved characters (`A–Z a–z 0–9 - . _ ~`), as UTF-8. By bytes:
    /// Foundation's `addingPercentEncoding` was a twentieth of the dispatcher's time per send.
    public static func escape(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count * 3)
        append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let hex = Array("0123456789ABCDEF".utf8)

    private static func append(_ value: String, to bytes: inout [UInt8]) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            }
        }
    }
}

extension Array where Element == (String, String) {
    /// The first value for `name`.
    public subscript(name: String) -> String? {
        first { $0.0 == name }?.1
    }
}

/// Builds a provider for a channel.
public func makeProvider(_ settings: ChannelSettings) -> any SMSProvider {
    switch settings.provider {
    case .twilio, .simulator: TwilioProvider(settings: settings)
    case .africastalking: AfricasTalkingProvider(settings: settings)
    case .vonage: VonageProvider(settings: settings)
    case .generic: GenericProvider(settings: settings)
    }
}
