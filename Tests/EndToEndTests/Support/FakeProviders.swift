import Foundation
import Hummingbird
import Logging
import Synchronization
import TiplineProviders

/// One loopback server that speaks the send APIs of every provider tipline supports, each in its exact format,
/// with a script of faults to play before answering normally.
final class FakeProviders: Sendable {
    enum Fault: Sendable {
        case status(Int, String)
        case delay(Duration)
        case garbage
    }

    struct Sent: Sendable, Equatable {
        var provider: String
        var to: String
        var text: String
    }

    private let state = Mutex<(sent: [Sent], faults: [Fault], calls: Int)>(([], [], 0))
    var sent: [Sent] { state.withLock { $0.sent } }
    var calls: Int { state.withLock { $0.calls } }
    func script(_ faults: [Fault]) { state.withLock { $0.faults = faults } }

    /// The next fault, if any, counting the call.
    private func nextFault() -> Fault? {
        state.withLock { state in
            state.calls += 1
            return state.faults.isEmpty ? nil : state.faults.removeFirst()
        }
    }

    private func record(_ sent: Sent) -> Int {
        state.withLock { state in
            state.sent.append(sent)
            return state.sent.count
        }
    }

    private func answer(_ fault: Fault?, ok: () -> Response) async throws -> Response {
        switch fault {
        case .status(let code, let body)?:
            return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: body)))
        case .delay(let duration)?:
            try await Task.sleep(for: duration)
            return Response(status: .serviceUnavailable)
        case .garbage?:
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "<html>oops")))
        case nil:
            return ok()
        }
    }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("2010-04-01/Accounts/:account/Messages.json") { request, _ -> Response in
            let form = FormBody.parse(String(buffer: try await request.body.collect(upTo: 65536)))
            return try await self.answer(self.nextFault()) {
                let n = self.record(Sent(provider: "twilio", to: form["To"] ?? "", text: form["Body"] ?? ""))
                return json(.created, #"{"sid": "SM\#(n)", "status": "queued"}"#)
            }
        }
        router.post("version1/messaging") { request, _ -> Response in
            let form = FormBody.parse(String(buffer: try await request.body.collect(upTo: 65536)))
            guard request.headers[.init("apiKey")!] == "at-key", form["username"] == "sandbox" else {
                return json(.unauthorized, #"{"error": "The supplied authentication is invalid"}"#)
            }
            return try await self.answer(self.nextFault()) {
                let n = self.record(Sent(provider: "africastalking", to: form["to"] ?? "", text: form["message"] ?? ""))
                return json(.created, #"{"SMSMessageData": {"Message": "Sent to 1/1 Total Cost: VND 300", "Recipients": [{"statusCode": 101, "number": "\#(form["to"] ?? "")", "status": "Success", "cost": "VND 300", "messageId": "ATXid_\#(n)"}]}}"#)
            }
        }
        router.post("sms/json") { request, _ -> Response in
            let form = FormBody.parse(String(buffer: try await request.body.collect(upTo: 65536)))
            guard form["api_key"] == "vonage-key", form["api_secret"] == "vonage-secret" else {
                return json(.ok, #"{"message-count": "1", "messages": [{"status": "4", "error-text": "Bad Credentials"}]}"#)
            }
            return try await self.answer(self.nextFault()) {
                let n = self.record(Sent(provider: "vonage", to: form["to"] ?? "", text: form["text"] ?? ""))
                return json(.ok, #"{"message-count": "1", "messages": [{"to": "\#(form["to"] ?? "")", "message-id": "0A\#(n)", "status": "0", "remaining-balance": "3.14", "message-price": "0.03", "network": "45204"}]}"#)
            }
        }
        router.post("send") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 65536)
            guard request.headers[.authorization] == "Bearer generic-token",
                  let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
                return json(.unauthorized, #"{"error": "unauthorized"}"#)
            }
            return try await self.answer(self.nextFault()) {
                let n = self.record(Sent(provider: "generic", to: object["to"] as? String ?? "", text: object["text"] as? String ?? ""))
                return json(.ok, #"{"id": "gen-\#(n)"}"#)
            }
        }
        return router
    }

    func waitFor(timeout: Duration = .seconds(20), _ condition: @Sendable ([Sent]) -> Bool) async throws -> [Sent] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(sent) { return sent }
            try await Task.sleep(for: .milliseconds(20))
        }
        return sent
    }
}

private func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
}

func runFakeProviders<T: Sendable>(_ fake: FakeProviders, _ body: (Int) async throws -> T) async throws -> T {
    try await withRunning({ onRunning in
        Application(router: fake.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? 0) },
                    logger: Logger(label: "fake-providers"))
    }, body)
}
