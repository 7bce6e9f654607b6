import CurlHTTP
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The libcurl client against a real loopback HTTP server.
@Suite("CurlClient")
struct CurlClientTests {
    final class Seen: Sendable {
        let requests = Mutex<[(method: String, path: String, body: String, headers: [String: String])]>([])
    }

    func withServer(_ body: (Int, Seen) async throws -> Void) async throws {
        let seen = Seen()
        let router = Router()
        router.on("echo", method: .post) { request, _ -> Response in
            let bytes = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName.lowercased()] = field.value }
            seen.requests.withLock { $0.append(("POST", request.uri.path, String(buffer: bytes), headers)) }
            return Response(status: .created, headers: [.contentType: "text/plain", .init("X-Echo")!: "yes"], body: .init(byteBuffer: bytes))
        }
        router.get("status/:code") { _, context -> Response in
            Response(status: .init(code: Int(context.parameters.get("code") ?? "500") ?? 500))
        }
        router.get("slow") { _, _ -> String in
            try await Task.sleep(for: .seconds(3))
            return "late"
        }
        router.put("method") { request, _ in request.method.rawValue }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "curl-test"))
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "curl-test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = await iterator.next()!
            do {
                try await body(port, seen)
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    @Test("POST with a body, headers and basic auth; the response's status, headers and body")
    func postEcho() async throws {
        let client = CurlClient()
        try await withServer { port, seen in
            let body = "To=%2B84912345678&Body=Da+nhan+bao+cao+so+1001\u{0}tail"
            let response = try await client.execute(CurlRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/echo",
                headers: [("Content-Type", "application/x-www-form-urlencoded"), ("X-Test", "1")],
                body: Array(body.utf8), basicAuth: ("AC123", "secret")))
            #expect(response.status == 201)
            #expect(response.bodyText == body, "binary-safe body (COPYPOSTFIELDS with its size)")
            #expect(response.header("x-echo") == "yes")
            let request = try #require(seen.requests.withLock { $0.first })
            #expect(request.headers["x-test"] == "1")
            #expect(request.headers["authorization"] == "Basic " + Data("AC123:secret".utf8).base64EncodedString())
            #expect(request.headers["expect"] == nil, "no Expect: 100-continue round trip")
        }
        await client.shutdown()
    }

    @Test("many requests at once on one multi handle")
    func concurrent() async throws {
        let client = CurlClient()
        try await withServer { port, seen in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<50 {
                    group.addTask {
                        try await client.execute(CurlRequest(method: "POST", url: "http://127.0.0.1:\(port)/echo", body: Array("\(index)".utf8))).status
                    }
                }
                for try await status in group { #expect(status == 201) }
            }
            #expect(seen.requests.withLock { $0.count } == 50)
        }
        await client.shutdown()
    }

    @Test("statuses, other methods, a timeout and a refused connection")
    func failures() async throws {
        let client = CurlClient()
        try await withServer { port, _ in
            #expect(try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/status/503")).status == 503)
            #expect(try await client.execute(CurlRequest(method: "PUT", url: "http://127.0.0.1:\(port)/method", body: [])).bodyText == "PUT")
            await #expect(throws: CurlError.self) {
                try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/slow", timeout: .milliseconds(300)))
            }
            do {
                _ = try await client.execute(CurlRequest(url: "http://127.0.0.1:\(port)/slow", timeout: .milliseconds(300)))
            } catch let error as CurlError {
                #expect(error.kind == .timeout)
            }
        }
        do {
            _ = try await client.execute(CurlRequest(url: "http://127.0.0.1:1/", connectTimeout: .seconds(2)))
            Issue.record("port 1 should refuse")
        } catch let error as CurlError {
            #expect(error.kind == .connect)
        }
        await #expect(throws: CurlError.self) { try await client.execute(CurlRequest(url: "ftp://127.0.0.1/")) }
        await client.shutdown()
    }

    @Test("after shutdown, requests are refused with a clear error")
    func shutdownRefuses() async throws {
        let client = CurlClient()
        await client.shutdown()
        do {
            _ = try await client.execute(CurlRequest(url: "http://127.0.0.1:1/"))
            Issue.record("expected an error")
        } catch let error as CurlError {
            #expect(error.kind == .shutdown)
        }
    }
}
