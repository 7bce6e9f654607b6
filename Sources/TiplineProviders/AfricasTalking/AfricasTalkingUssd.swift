import Crypto
import Foundation
import TiplineCore

/// Africa's Talking USSD: for every screen the aggregator POSTs a form `sessionId, serviceCode, phoneNumber,
/// networkCode, text` and shows the `text/plain` answer.
///
/// The callback carries no signature, so a channel is verified by a per-channel token (`?token=…` in the callback
/// URL, or an `X-Tipline-Token` header), by the aggregator's source addresses, or by both.
public struct AfricasTalkingUssd: UssdProvider {
    /// Whether requests must pass the token check (when a token is set) and come from an allowed source (when any is
    /// listed); on unless the channel says `verify_requests: false`.
    public var verifyRequests: Bool
    /// The per-channel token; nil when the channel is verified by source address alone.
    public var webhookToken: String?
    /// Source addresses allowed to call the callback; empty allows all. Checked even with verification off.
    public var allowedSources: [String]

    public init(verifyRequests: Bool = true, webhookToken: String? = nil, allowedSources: [String] = []) {
        self.verifyRequests = verifyRequests
        self.webhookToken = webhookToken
        self.allowedSources = allowedSources
    }

    public func verify(_ request: WebhookRequest) throws(WebhookError) {
        if !allowedSources.isEmpty {
            guard let source = request.sourceAddress, allowedSources.contains(source) else {
                throw WebhookError(.forbidden, "source address not allowed for this channel")
            }
        }
        guard verifyRequests else { return }
        guard let expected = webhookToken, !expected.isEmpty else {
            // Verified by source address alone; with no allow-list either, nothing could vouch for the request.
            guard !allowedSources.isEmpty else {
                throw WebhookError(.forbidden, "the channel verifies requests but has neither a webhook token nor allowed sources")
            }
            return
        }
        guard let given = request.header("x-tipline-token") ?? request.query["token"], !given.isEmpty else {
            throw WebhookError(.forbidden, "missing webhook token (?token=… in the callback URL or an X-Tipline-Token header)")
        }
        guard Self.sameToken(given, expected) else {
            throw WebhookError(.forbidden, "wrong webhook token")
        }
    }

    public func decode(_ request: WebhookRequest) throws(WebhookError) -> UssdRequest {
        try Self.decode(form: request.formParameters())
    }

    /// The callback's fields from its form; `sessionId` and `phoneNumber` are required, `text` is kept exactly as
    /// sent (`*` and all: the session store, not the text, tells answers apart).
    public static func decode(form: [(String, String)]) throws(WebhookError) -> UssdRequest {
        guard let session = form["sessionId"], !session.isEmpty else {
            throw WebhookError(.badRequest, "missing sessionId: not an Africa's Talking USSD callback")
        }
        guard let phone = form["phoneNumber"], !phone.isEmpty else {
            throw WebhookError(.badRequest, "missing phoneNumber")
        }
        return UssdRequest(sessionID: session, serviceCode: form["serviceCode"].flatMap { $0.isEmpty ? nil : $0 }, phoneNumber: phone,
                           networkCode: form["networkCode"].flatMap { $0.isEmpty ? nil : $0 }, text: SMSText.cleanInbound(form["text"] ?? ""))
    }

    /// Compares two tokens in a time that depends on neither where they differ nor their lengths: both are hashed
    /// first, then every byte of the digests is compared.
    static func sameToken(_ given: String, _ expected: String) -> Bool {
        let givenDigest = SHA256.hash(data: Array(given.utf8))
        let expectedDigest = SHA256.hash(data: Array(expected.utf8))
        return constantTimeEquals(Array(givenDigest), Array(expectedDigest))
    }
}
