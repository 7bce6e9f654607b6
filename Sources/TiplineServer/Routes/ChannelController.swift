import Foundation
import Hummingbird
import Logging
import TiplineCore
import TiplineProviders
import TiplineStore

/// Provider webhooks: `/channels/<name>/sms` for inbound messages, `/channels/<name>/status` for delivery reports.
///
/// An unknown channel is 404; a request that fails the channel's signature or token check is 403 and is not
/// stored; a body that is not the provider's format is 400, one over the size limit 413; a store that cannot be
/// written is 503, so the provider retries. 200 is sent only after the message is committed.
struct ChannelController {
    let providers: [String: any SMSProvider]
    let intake: Intake
    let deliveryReports: DeliveryReports
    let maxBodyBytes: Int
    let metrics: TiplineMetrics
    let channelLog: ChannelLogBuffer
    let clock: @Sendable () -> Date
    let logger: Logger

    func addRoutes(to router: Router<TiplineRequestContext>) {
        let group = router.group("channels")
        group.post(":channel/sms", use: logged("sms", inbound))
        group.get(":channel/sms", use: logged("sms", inbound))
        group.post(":channel/status", use: logged("status", status))
        group.get(":channel/status", use: logged("status", status))
    }

    /// Records every webhook in the channel log: time, channel, status, latency, error — never the body or the sender.
    func logged(_ kind: String, _ handler: @escaping @Sendable (Request, TiplineRequestContext) async throws -> Response)
        -> @Sendable (Request, TiplineRequestContext) async throws -> Response {
        { [channelLog, clock] request, context in
            let started = ContinuousClock.now
            let channel = context.parameters.get("channel") ?? "?"
            do {
                let response = try await handler(request, context)
                channelLog.record(ChannelLogEntry(at: clock(), channel: channel, direction: "in", kind: kind, status: Int(response.status.code),
                                                  latencyMS: (ContinuousClock.now - started).seconds * 1000, error: nil))
                return response
            } catch {
                let status = (error as? any HTTPResponseError)?.status.code ?? 500
                channelLog.record(ChannelLogEntry(at: clock(), channel: channel, direction: "in", kind: kind, status: Int(status),
                                                  latencyMS: (ContinuousClock.now - started).seconds * 1000,
                                                  error: (error as? HTTPError)?.body ?? "\(error)"))
                throw error
            }
        }
    }

    @Sendable func inbound(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (name, provider, webhook) = try await decode(request, context: context)
        let sms: InboundSMS
        do {
            try provider.verify(webhook)
            sms = try provider.decodeInbound(webhook)
        } catch {
            throw reject(error, channel: name)
        }
        do {
            let outcome = try await intake.receive(sms, channel: name)
            if outcome == .duplicate { metrics.duplicate(channel: name) }
        } catch {
            logger.error("inbound message not stored; provider will retry", metadata: ["channel": "\(name)", "error": "\(error)"])
            metrics.rejected(channel: name, reason: "store_unavailable")
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "30"], message: "message store unavailable; retry later")
        }
        let answer = provider.inboundAnswer
        return Response(status: .ok, headers: [.contentType: answer.contentType], body: .init(byteBuffer: ByteBuffer(string: answer.body)))
    }

    @Sendable func status(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let (name, provider, webhook) = try await decode(request, context: context)
        let report: DeliveryReport
        do {
            try provider.verify(webhook)
            report = try provider.decodeDeliveryReport(webhook)
        } catch {
            throw reject(error, channel: name)
        }
        do {
            try await deliveryReports.apply(report, channel: name)
        } catch {
            logger.error("delivery report not stored", metadata: ["channel": "\(name)", "error": "\(error)"])
            throw HTTPError(.serviceUnavailable, headers: [.retryAfter: "30"], message: "store unavailable; retry later")
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "OK")))
    }

    /// The channel, its provider and the request as the provider adapters see it; 404 and 413 come from here.
    func decode(_ request: Request, context: TiplineRequestContext) async throws -> (String, any SMSProvider, WebhookRequest) {
        let name = context.parameters.get("channel") ?? ""
        guard let provider = providers[name] else {
            metrics.rejected(channel: "unknown", reason: "unknown_channel")
            throw HTTPError(.notFound, message: "no channel named '\(name)'")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maxBodyBytes {
            metrics.rejected(channel: name, reason: "too_large")
            throw HTTPError(.contentTooLarge, message: "body of \(length) bytes is over the \(maxBodyBytes)-byte limit")
        }
        var body: [UInt8] = []
        for try await buffer in request.body {
            body.append(contentsOf: buffer.readableBytesView)
            if body.count > maxBodyBytes {
                metrics.rejected(channel: name, reason: "too_large")
                throw HTTPError(.contentTooLarge, message: "body is over the \(maxBodyBytes)-byte limit")
            }
        }
        let headers = request.headers.map { (name: $0.name.canonicalName, value: $0.value) }
        let webhook = WebhookRequest(method: request.method.rawValue, pathAndQuery: request.uri.string, headers: headers, body: body,
                                     sourceAddress: context.remoteAddress?.ipAddress)
        return (name, provider, webhook)
    }

    func reject(_ error: any Error, channel: String) -> any Error {
        guard let error = error as? WebhookError else { return error }
        switch error.status {
        case .forbidden:
            // Logged without the body: it may be a real message from a misconfigured provider.
            logger.warning("webhook refused", metadata: ["channel": "\(channel)", "reason": "\(error.reason)"])
            metrics.rejected(channel: channel, reason: "forbidden")
            return HTTPError(.forbidden, message: error.reason)
        case .badRequest:
            logger.notice("webhook not in the provider's format", metadata: ["channel": "\(channel)", "reason": "\(error.reason)"])
            metrics.rejected(channel: channel, reason: "bad_request")
            return HTTPError(.badRequest, message: error.reason)
        case .payloadTooLarge:
            metrics.rejected(channel: channel, reason: "too_large")
            return HTTPError(.contentTooLarge, message: error.reason)
        }
    }
}

/// Applies delivery reports to the outbox by the provider's message id.
struct DeliveryReports: Sendable {
    let database: AppDatabase
    let clock: @Sendable () -> Date

    func apply(_ report: DeliveryReport, channel: String) async throws {
        let state: OutboundMessage.State
        switch report.outcome {
        case .pending: return
        case .sent: state = .sent
        case .delivered: state = .delivered
        case .failed: state = .failed
        }
        try await database.recordDeliveryReport(channel: channel, providerMessageID: report.providerMessageID, state: state,
                                                error: report.error, now: clock())
    }
}

