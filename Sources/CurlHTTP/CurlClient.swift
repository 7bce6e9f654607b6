import CCurl
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An async HTTP client on one libcurl multi handle, driven by one dedicated thread.
///
/// Connections are kept alive and reused across requests by the multi handle. Requests are handed to the thread
/// through a locked queue and `curl_multi_wakeup`; each finishes on its own continuation. As a `Service` it stops on
/// graceful shutdown after the transfers in flight have finished.
///
/// Thread safety: the multi handle and every easy handle are touched only by the curl thread; other threads touch
/// only `state`, behind its mutex, and `curl_multi_wakeup`, which libcurl documents as thread-safe.
public final class CurlClient: Service, @unchecked Sendable {
    private let multi: UnsafeMutableRawPointer
    private let logger: Logger
    private let state = Mutex(State())
    private let stopped = Mutex<[CheckedContinuation<Void, Never>]>([])

    private struct State {
        var submitted: [Transfer] = []
        var threadStarted = false
        var shuttingDown = false
        var finished = false
    }

    /// `curl_global_init` runs once per process, before the first handle.
    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    public init(maxConnectionsPerHost: Int = 8, logger: Logger = Logger(label: "tipline.curl")) {
        _ = CurlClient.globalInit
        multi = curl_multi_init()
        self.logger = logger
        tipline_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        tipline_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 32)
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Sends a request; throws ``CurlError`` when no HTTP response came back.
    public func execute(_ request: CurlRequest) async throws -> CurlResponse {
        guard let easy = curl_easy_init() else {
            throw CurlError(kind: .transfer, code: -1, message: "curl_easy_init failed")
        }
        let transfer = Transfer(easy: easy)
        transfer.configure(request)
        return try await withCheckedThrowingContinuation { continuation in
            transfer.continuation = continuation
            let accepted = state.withLock { state -> Bool in
                guard !state.shuttingDown else { return false }
                state.submitted.append(transfer)
                if !state.threadStarted {
                    state.threadStarted = true
                    startThread()
                }
                return true
            }
            if accepted {
                curl_multi_wakeup(multi)
            } else {
                transfer.finish(.failure(CurlError(kind: .shutdown, code: -1, message: "HTTP client is shut down")))
            }
        }
    }

    // MARK: - Service

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Refuses new requests, lets the ones in flight finish, and stops the thread.
    public func shutdown() async {
        let threadRunning = state.withLock { state -> Bool in
            state.shuttingDown = true
            return state.threadStarted && !state.finished
        }
        guard threadRunning else { return }
        curl_multi_wakeup(multi)
        await withCheckedContinuation { continuation in
            let alreadyDone = state.withLock { $0.finished }
            if alreadyDone {
                continuation.resume()
            } else {
                stopped.withLock { $0.append(continuation) }
                // The thread may have finished between the two locks.
                if state.withLock({ $0.finished }) {
                    stopped.withLock { waiting in
                        waiting.forEach { $0.resume() }
                        waiting.removeAll()
                    }
                }
            }
        }
    }

    // MARK: - The curl thread

    private func startThread() {
        let thread = Thread { [self] in self.loop() }
        thread.name = "tipline-curl"
        thread.start()
    }

    private func loop() {
        var active: [UnsafeMutableRawPointer: Transfer] = [:]
        while true {
            let (incoming, shuttingDown) = state.withLock { state -> ([Transfer], Bool) in
                let incoming = state.submitted
                state.submitted.removeAll()
                return (incoming, state.shuttingDown)
            }
            for transfer in incoming {
                active[transfer.easy] = transfer
                curl_multi_add_handle(multi, transfer.easy)
            }
            if shuttingDown, active.isEmpty { break }

            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = active.removeValue(forKey: easy) else { continue }
                let code = message.pointee.data.result
                curl_multi_remove_handle(multi, easy)
                transfer.complete(code: code)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        state.withLock { $0.finished = true }
        stopped.withLock { waiting in
            waiting.forEach { $0.resume() }
            waiting.removeAll()
        }
        logger.debug("curl thread stopped")
    }
}

/// One request in flight: its easy handle and what has come back so far. Owned by the curl thread once submitted.
final class Transfer: @unchecked Sendable {
    let easy: UnsafeMutableRawPointer
    var continuation: CheckedContinuation<CurlResponse, any Error>?
    var body: [UInt8] = []
    var headers: [(name: String, value: String)] = []
    private var headerList: UnsafeMutablePointer<curl_slist>?

    init(easy: UnsafeMutableRawPointer) {
        self.easy = easy
    }

    deinit {
        curl_slist_free_all(headerList)
        curl_easy_cleanup(easy)
    }

    func configure(_ request: CurlRequest) {
        tipline_easy_setopt_string(easy, CURLOPT_URL, request.url)
        tipline_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        tipline_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(request.timeout.milliseconds))
        tipline_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout.milliseconds))
        tipline_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        tipline_easy_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        // Only http and https, whatever a configured URL says.
        tipline_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        if let auth = request.basicAuth {
            tipline_easy_setopt_long(easy, CURLOPT_HTTPAUTH, 1 /* CURLAUTH_BASIC */)
            tipline_easy_setopt_string(easy, CURLOPT_USERNAME, auth.user)
            tipline_easy_setopt_string(easy, CURLOPT_PASSWORD, auth.password)
        }
        let method = request.method.uppercased()
        if let body = request.body {
            tipline_easy_setopt_long(easy, CURLOPT_POST, 1)
            tipline_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            // COPYPOSTFIELDS: libcurl keeps its own copy, so the Swift array may go.
            body.withUnsafeBytes { raw in
                _ = tipline_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
            }
            if method != "POST" { tipline_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }
        } else if method == "HEAD" {
            tipline_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        } else if method != "GET" {
            tipline_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method)
        }
        // No "Expect: 100-continue" round trip.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            headerList = curl_slist_append(headerList, line)
        }
        tipline_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)
        let me = Unmanaged.passUnretained(self).toOpaque()
        tipline_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlBodyCallback)
        tipline_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        tipline_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback)
        tipline_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
    }

    func complete(code: CURLcode) {
        guard code == CURLE_OK else {
            let message = String(cString: curl_easy_strerror(code))
            let kind: CurlError.Kind
            switch code {
            case CURLE_OPERATION_TIMEDOUT: kind = .timeout
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .connect
            default: kind = .transfer
            }
            finish(.failure(CurlError(kind: kind, code: Int(code.rawValue), message: message)))
            return
        }
        var status = 0
        tipline_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        var total = 0.0
        tipline_easy_getinfo_double(easy, CURLINFO_TOTAL_TIME, &total)
        finish(.success(CurlResponse(status: status, headers: headers, body: body, totalTime: total)))
    }

    func finish(_ result: Result<CurlResponse, any Error>) {
        continuation?.resume(with: result)
        continuation = nil
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
