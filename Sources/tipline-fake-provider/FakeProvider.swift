import ArgumentParser
import Foundation
import Hummingbird
import Synchronization

/// A stand-in for Twilio's Messages API in its own process, for load tests: `scripts/load-test` points tipline's
/// outbound channel here, so the daemon sends through libcurl over loopback to a server it does not control, and
/// measures this server's own rate with wrk beside it.
///
/// It answers as Twilio does — `201 Created` with the message resource (`sid`, `status: queued`) for a form with
/// `To` and `Body` under HTTP basic auth, `400` with Twilio's error JSON (code 21604 / 21602) when one is missing,
/// `401` (code 20003) without credentials — and counts what it accepted (`GET /stats`).
@main
struct FakeProvider: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tipline-fake-provider",
        abstract: "A fake Twilio Messages API for load tests (counts the messages it accepts; GET /stats)."
    )

    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port to listen on.") var port = 18090

    func run() async throws {
        let counter = Counter()
        let router = Router()
        router.post("/2010-04-01/Accounts/:account/Messages.json") { request, context -> Response in
            guard request.headers[.authorization]?.hasPrefix("Basic ") == true else {
                return Self.error(status: .unauthorized, code: 20003, message: "Authenticate")
            }
            let body = try await request.body.collect(upTo: 64 * 1024)
            let form = Self.formFields(String(buffer: body))
            guard let to = form["To"], !to.isEmpty else {
                return Self.error(status: .badRequest, code: 21604, message: "A 'To' phone number is required.")
            }
            guard form["Body"].map({ !$0.isEmpty }) ?? false else {
                return Self.error(status: .badRequest, code: 21602, message: "Message body is required.")
            }
            let number = counter.accepted.add(1, ordering: .relaxed).newValue
            let sid = "SM" + String(format: "%032x", number)
            let account = context.parameters.get("account") ?? ""
            let json = #"{"sid":"\#(sid)","account_sid":"\#(account)","status":"queued","num_segments":"1","direction":"outbound-api"}"#
            return Response(status: .created, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        router.get("/stats") { _, _ -> Response in
            let json = #"{"accepted":\#(counter.accepted.load(ordering: .relaxed))}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "fake-twilio"))
        try await app.runService()
    }

    /// The fields of a form body (only the names this server reads are decoded).
    static func formFields(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let name = parts.first, name == "To" || name == "Body" else { continue }
            let value = parts.count > 1 ? String(parts[1]).replacingOccurrences(of: "+", with: " ") : ""
            fields[String(name)] = value.removingPercentEncoding ?? value
        }
        return fields
    }

    static func error(status: HTTPResponse.Status, code: Int, message: String) -> Response {
        let json = #"{"code":\#(code),"message":"\#(message)","more_info":"https://www.twilio.com/docs/errors/\#(code)","status":\#(status.code)}"#
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

final class Counter: Sendable {
    let accepted = Atomic<Int>(0)
}
