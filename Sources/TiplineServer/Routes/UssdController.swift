import Foundation
import Hummingbird
import TiplineCore
import TiplineProviders

/// `/channels/<name>/ussd`: the Africa's Talking USSD protocol. A form `sessionId, serviceCode, phoneNumber,
/// networkCode, text`; the answer is `text/plain`, `CON …` (show and wait) or `END …` (show and close).
struct UssdController {
    let channels: [String: Settings.UssdChannelSettings]
    let sessions: UssdSessions
    let channelLog: ChannelLogBuffer
    let clock: @Sendable () -> Date

    func addRoutes(to router: Router<TiplineRequestContext>) {
        router.post("channels/:channel/ussd", use: handle)
        router.post("simulator/ussd", use: simulate)
    }

    @Sendable func handle(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let name = context.parameters.get("channel") ?? ""
        guard let channel = channels[name] else { throw HTTPError(.notFound, message: "no USSD channel named '\(name)'") }
        let started = ContinuousClock.now
        if !channel.allowedSources.isEmpty, !channel.allowedSources.contains(context.remoteAddress?.ipAddress ?? "") {
            throw HTTPError(.forbidden, message: "source address not allowed for this channel")
        }
        if channel.verifyRequests {
            let given = request.headers[.init("X-Tipline-Token")!] ?? request.uri.queryParameters["token"].map(String.init) ?? ""
            guard given == channel.webhookToken else { throw HTTPError(.forbidden, message: "missing or wrong webhook token") }
        }
        let body = try await request.body.collect(upTo: 16384)
        guard (request.headers[.contentType] ?? "").hasPrefix("application/x-www-form-urlencoded") else {
            throw HTTPError(.badRequest, message: "expected a form body (application/x-www-form-urlencoded)")
        }
        let form = FormBody.parse(String(buffer: body))
        guard let session = form["sessionId"], !session.isEmpty else { throw HTTPError(.badRequest, message: "missing sessionId") }
        guard let phone = form["phoneNumber"], !phone.isEmpty else { throw HTTPError(.badRequest, message: "missing phoneNumber") }
        let answer = try await sessions.answer(.init(sessionID: session, serviceCode: form["serviceCode"] ?? channel.serviceCode, phone: phone,
                                                     text: form["text"] ?? ""), channel: channel)
        channelLog.record(.init(at: clock(), channel: name, direction: "in", kind: "ussd", status: 200,
                                latencyMS: (ContinuousClock.now - started).seconds * 1000, error: nil))
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The simulator plays a USSD session on the first USSD channel (form `From`, `Session`, `Text`).
    @Sendable func simulate(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        guard let channel = channels.values.sorted(by: { $0.name < $1.name }).first else {
            throw HTTPError(.notFound, message: "no USSD channel is enabled")
        }
        let form = FormBody.parse(String(buffer: try await request.body.collect(upTo: 16384)))
        guard let from = form["From"], PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "From must be a phone number") }
        let answer = try await sessions.answer(.init(sessionID: form["Session"] ?? "sim-" + from, serviceCode: channel.serviceCode, phone: from,
                                                     text: form["Text"] ?? ""), channel: channel)
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }
}
