import Foundation
import Hummingbird
import Synchronization
import TiplineCore
import TiplineProviders
import TiplineStore

/// The built-in provider simulator: a loopback endpoint speaking Twilio's Messages API that keeps what it receives.
///
/// With it the sample deployment works with no provider account: a newcomer posts a message to the simulator
/// channel's webhook and reads the acknowledgement and officer alerts at `GET /simulator/messages`.
public final class SimulatorInbox: Sendable {
    public struct Message: Sendable, Codable, Equatable {
        public var sid: String
        public var to: String
        public var from: String
        public var body: String
        public var at: Date
    }

    private let state = Mutex<(messages: [Message], counter: Int)>(([], 0))
    private let capacity: Int

    public init(capacity: Int = 1000) {
        self.capacity = capacity
    }

    func record(to: String, from: String, body: String) -> Message {
        state.withLock { state in
            state.counter += 1
            let message = Message(sid: String(format: "SM%032x", state.counter), to: to, from: from, body: body, at: Date())
            state.messages.append(message)
            if state.messages.count > capacity { state.messages.removeFirst(state.messages.count - capacity) }
            return message
        }
    }

    /// What the simulator has "sent", oldest first; only those to `recipient` when given.
    public func messages(to recipient: String? = nil) -> [Message] {
        state.withLock { state in state.messages.filter { recipient == nil || $0.to == recipient } }
    }

    public func clear() {
        state.withLock { $0.messages.removeAll() }
    }
}

/// The training tools' routes, registered only when `training.enabled` (otherwise 404): the simulated provider's
/// Messages API (only tipline's own dispatcher, with the simulator channel's per-process credentials), and for
/// signed-in staff of a training role the simulated phone's inbox, inbound SMS and USSD.
struct SimulatorController {
    let inbox: SimulatorInbox
    let intake: Intake
    let channel: ChannelSettings?
    let ussd: UssdController
    let access: TrainingAccess

    func addRoutes(to router: Router<TiplineRequestContext>) {
        let group = router.group("simulator")
        // Twilio's Messages API, as the dispatcher calls it.
        group.post("2010-04-01/Accounts/:account/Messages.json") { request, context -> Response in
            guard let channel, Self.authorized(request, channel: channel) else {
                return jsonResponse(.unauthorized, ["code": 20003, "message": "Authenticate", "status": 401])
            }
            let body = try await request.body.collect(upTo: 65536)
            let form = FormBody.parse(String(buffer: body))
            guard let to = form["To"], !to.isEmpty, let text = form["Body"] else {
                return jsonResponse(.badRequest, ["code": 21604, "message": "A 'To' phone number and a 'Body' are required.", "status": 400])
            }
            let message = inbox.record(to: to, from: form["From"] ?? form["MessagingServiceSid"] ?? "", body: text)
            return jsonResponse(.created, ["sid": message.sid, "status": "queued", "to": to, "body": text])
        }
        let staff = group.group().add(middleware: access)
        staff.get("messages") { request, context -> Response in
            let to = request.uri.queryParameters.get("to")
            let data = try encoder.encode(inbox.messages(to: to))
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        staff.delete("messages") { _, _ -> HTTPResponse.Status in
            inbox.clear()
            return .noContent
        }
        // A phone typing a message to the gateway: the same intake as a provider webhook.
        staff.post("inbound") { request, context -> Response in
            guard let channel else { throw HTTPError(.notFound, message: "the simulator channel is not enabled") }
            let body = try await request.body.collect(upTo: 65536)
            let form = FormBody.parse(String(buffer: body))
            guard let from = form["From"], PhoneNumber.normalise(from) != nil else {
                throw HTTPError(.badRequest, message: "From must be a phone number")
            }
            let sms = InboundSMS(providerMessageID: "SIM" + UUID().uuidString, from: from, to: nil, text: form["Body"] ?? "")
            let outcome = try await intake.receive(sms, channel: channel.name)
            var report: Int?
            if case .stored(let number) = outcome { report = number }
            return jsonResponse(.ok, ["report": report.map { $0 as Any } ?? NSNull()])
        }
        staff.post("ussd", use: ussd.simulate)
    }

    /// The dispatcher's Basic credentials for the simulator channel (its auth token is made anew by each process).
    static func authorized(_ request: Request, channel: ChannelSettings) -> Bool {
        let expected = "Basic " + Data("\(channel.credentials["account_sid"] ?? ""):\(channel.credentials["auth_token"] ?? "")".utf8).base64EncodedString()
        return constantTimeEquals(Array((request.headers[.authorization] ?? "").utf8), Array(expected.utf8))
    }

    var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}


func jsonResponse(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Signed-in staff (web session or API token) of a role allowed to train; anyone else gets 401 or 403.
struct TrainingAccess: RouterMiddleware {
    typealias Context = TiplineRequestContext
    let database: AppDatabase
    let roles: [String]
    let clock: @Sendable () -> Date

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var staff: StaffIdentity?
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            staff = try await database.identity(forTokenHash: StaffAuth.hash(token: String(header.dropFirst(7))))
        } else if let cookie = request.cookies[WebController.sessionCookie]?.value, !cookie.isEmpty {
            staff = try await database.session(hash: StaffAuth.hash(token: cookie), now: clock())?.0
        }
        guard let staff else { throw HTTPError(.unauthorized, message: "training tools need a signed-in staff account or an API token") }
        guard roles.contains(staff.role.rawValue) else {
            throw HTTPError(.forbidden, message: "your role may not use the training tools (training.roles: \(roles.joined(separator: ", ")))")
        }
        var context = context
        context.staff = staff
        return try await next(request, context)
    }
}
