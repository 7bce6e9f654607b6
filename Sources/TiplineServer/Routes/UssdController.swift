import Foundation
import Hummingbird
import Logging
import TiplineCore
import TiplineProviders

/// `/channels/<name>/ussd`: the Africa's Talking USSD protocol (``AfricasTalkingUssd`` checks and decodes each
/// callback); the answer is `text/plain`, `CON …` (show and wait) or `END …` (show and close).
///
/// An unknown channel is 404; a request that fails the channel's token or source check is 403, one that is not the
/// protocol's form 400 — each with its reason, and recorded in the channel log.
struct UssdController {
    let channels: [String: Settings.UssdChannelSettings]
    let sessions: UssdSessions
    let channelLog: ChannelLogBuffer
    let clock: @Sendable () -> Date
    let logger: Logger

    /// The largest callback body read.
    static let maxBodyBytes = 16384

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.post("channels/:channel/ussd", use: handle)
        // `simulator/ussd` is a training tool: SimulatorController registers it, behind training access.
    }

    @Sendable func handle(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let name = context.parameters.get("channel") ?? ""
        guard let channel = channels[name] else { throw HTTPError(.notFound, message: "no USSD channel named '\(name)'") }
        let started = ContinuousClock.now
        func record(_ status: Int, error: String?) {
            channelLog.record(.init(at: clock(), channel: name, direction: "in", kind: "ussd", status: status,
                                    latencyMS: (ContinuousClock.now - started).seconds * 1000, error: error))
        }
        let webhook = try await Self.webhook(request, context: context)
        let provider = channel.provider
        let callback: UssdRequest
        do {
            try provider.verify(webhook)
            callback = try provider.decode(webhook)
        } catch {
            record(error.status.rawValue, error: error.reason)
            throw Self.reject(error)
        }
        let answer: String
        do {
            answer = try await sessions.answer(.init(sessionID: callback.sessionID, serviceCode: callback.serviceCode ?? channel.serviceCode,
                                                     phone: callback.phoneNumber, text: callback.text), channel: channel)
        } catch let error as HTTPError {
            throw error
        } catch {
            // The session or the report could not be stored: no report number was given, so nothing is lost; the
            // caller's phone shows the gateway's failure and they dial again (or text).
            logger.error("USSD step not stored", metadata: ["channel": "\(name)", "error": "\(error)"])
            record(503, error: "store unavailable")
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "30"], message: "session store unavailable; retry later")
        }
        record(200, error: nil)
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The simulator plays a USSD session on the first USSD channel (form `From`, `Session`, `Text`), checked as that
    /// channel's callbacks are (token, source address), so it is no way around them.
    @Sendable func simulate(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        guard let channel = channels.values.sorted(by: { $0.name < $1.name }).first else {
            throw HTTPError(.notFound, message: "no USSD channel is enabled")
        }
        let webhook = try await Self.webhook(request, context: context)
        do {
            try channel.provider.verify(webhook)
        } catch {
            throw Self.reject(error)
        }
        let form = FormBody.parse(String(decoding: webhook.body, as: UTF8.self))
        guard let from = form["From"], PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "From must be a phone number") }
        let answer = try await sessions.answer(.init(sessionID: form["Session"] ?? "sim-" + from, serviceCode: channel.serviceCode, phone: from,
                                                     text: form["Text"] ?? ""), channel: channel)
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The request as the protocol adapter sees it.
    static func webhook(_ request: Request, context: TiplineRequestContext) async throws -> WebhookRequest {
        let body = try await request.body.collect(upTo: maxBodyBytes)
        return WebhookRequest(method: request.method.rawValue, pathAndQuery: request.uri.string,
                              headers: request.headers.map { (name: $0.name.canonicalName, value: $0.value) },
                              body: Array(body.readableBytesView), sourceAddress: context.remoteAddress?.ipAddress)
    }

    /// The HTTP error for a refused callback, with its reason.
    static func reject(_ error: WebhookError) -> HTTPError {
        switch error.status {
        case .forbidden: HTTPError(.forbidden, message: error.reason)
        case .badRequest: HTTPError(.badRequest, message: error.reason)
        case .payloadTooLarge: HTTPError(.contentTooLarge, message: error.reason)
        }
    }
}

extension Settings.UssdChannelSettings {
    /// The protocol adapter that checks and decodes this channel's callbacks.
    var provider: AfricasTalkingUssd {
        AfricasTalkingUssd(verifyRequests: verifyRequests, webhookToken: webhookToken, allowedSources: allowedSources)
    }
}
