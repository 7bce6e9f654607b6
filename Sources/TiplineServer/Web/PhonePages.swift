import Foundation
import Hummingbird
import TiplineCore
import TiplineProviders
import TiplineStore

/// `phone.mustache`: a trainer types as a villager's phone, by SMS or USSD, and sees what the gateway sent back.
struct PhonePage: WebPage {
    static let template = "phone"

    /// A message the gateway sent through the simulator channel.
    struct Message {
        let at: String
        let to: String
        let body: String
    }

    /// Where a USSD session stands, carried in hidden fields from one step to the next.
    struct UssdScreen {
        let serviceCode: String
        let session: String
        /// The answers so far, `*`-joined as the aggregator sends them.
        let text: String
        let screen: String
        let ended: Bool

        /// A session not yet dialled.
        static func idle(serviceCode: String) -> UssdScreen {
            UssdScreen(serviceCode: serviceCode, session: "web-" + UUID().uuidString, text: "", screen: "", ended: true)
        }
    }

    let title = "Phone simulator"
    let from: String
    /// Newest first.
    let messages: [Message]
    /// Absent when no USSD channel is enabled.
    let ussd: UssdScreen?
}

/// The phone simulator: only with the simulator channel on, for training and demonstrations.
extension WebController {
    /// The USSD channel the simulator dials: the first by name.
    var simulatedUssdChannel: Settings.UssdChannelSettings? {
        deployment.current.settings.ussdChannels.values.sorted(by: { $0.name < $1.name }).first
    }

    @Sendable func phonePage(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try trainer(context)
        guard simulatorChannel != nil else { throw HTTPError(.notFound, message: "the simulator channel is not enabled") }
        return try await phoneView(from: request.uri.queryParameters["from"].map(String.init) ?? "+84900000201", context: context,
                                   audit: (staff, "view_phone"))
    }

    /// The page, with the simulator's messages (which carry the officers' alerts, so reading them is audited as
    /// `audit.action`: one entry, the number of messages shown and nothing of them).
    func phoneView(from: String, context: TiplineRequestContext, ussd: PhonePage.UssdScreen? = nil,
                   audit: (staff: StaffIdentity, action: String)) async throws -> Response {
        let messages = simulator.messages().suffix(50).reversed().map { PhonePage.Message(at: local($0.at), to: $0.to, body: $0.body) }
        try await database.audit(audit.staff, action: audit.action, target: nil, detail: "\(messages.count) messages (web)", now: clock())
        let screen = simulatedUssdChannel.map { channel in ussd ?? PhonePage.UssdScreen.idle(serviceCode: channel.serviceCode) }
        return render(PhonePage(from: from, messages: messages, ussd: screen), context: context)
    }

    /// Plays one step of a USSD session as the phone, through the same session store as the aggregator's requests.
    @Sendable func phoneUSSD(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try trainer(context)
        guard let channel = simulatedUssdChannel else {
            throw HTTPError(.notFound, message: "no USSD channel is enabled")
        }
        let values = try await form(request)
        let from = values["from"] ?? ""
        guard PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "'\(from)' is not a phone number") }
        var session = values["session"] ?? "web-" + UUID().uuidString
        var text = values["text"] ?? ""
        if values["restart"] != nil {
            session = "web-" + UUID().uuidString
            text = ""
        } else {
            let answer = values["answer"] ?? ""
            text = text.isEmpty ? answer : text + "*" + answer
        }
        let screen = try await ussd.answer(.init(sessionID: session, serviceCode: channel.serviceCode, phone: from, text: text), channel: channel)
        return try await phoneView(from: from, context: context, ussd: PhonePage.UssdScreen(
            serviceCode: channel.serviceCode, session: session, text: text, screen: String(screen.dropFirst(4)), ended: screen.hasPrefix("END")),
            audit: (staff, "simulator_ussd"))
    }

    @Sendable func phone(_ request: Request, context: TiplineRequestContext) async throws -> Response {
        let staff = try trainer(context)
        guard let channel = simulatorChannel else { throw HTTPError(.notFound, message: "the simulator channel is not enabled") }
        let values = try await form(request)
        let from = values["from"] ?? ""
        guard PhoneNumber.normalise(from) != nil else { throw HTTPError(.badRequest, message: "'\(from)' is not a phone number") }
        _ = try await intake.receive(InboundSMS(providerMessageID: "WEB" + UUID().uuidString, from: from, to: nil, text: values["text"] ?? ""),
                                     channel: channel)
        try await database.audit(staff, action: "simulator_send", target: nil, now: clock())
        // Let the dispatcher deliver to the simulator before the page shows what it "sent".
        try await Task.sleep(for: .milliseconds(300))
        return redirect("/phone?from=\(FormBody.escape(from))")
    }

    /// Signed-in staff of a role that may use the training tools (`training.roles`).
    func trainer(_ context: TiplineRequestContext) throws -> StaffIdentity {
        let staff = try staff(context)
        let roles = deployment.current.settings.training.roles
        guard roles.contains(staff.role.rawValue) else {
            throw HTTPError(.forbidden, message: "your role may not use the training tools (training.roles: \(roles.joined(separator: ", ")))")
        }
        return staff
    }
}
