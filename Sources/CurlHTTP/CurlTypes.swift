/// One HTTP request for ``CurlClient``.
public struct CurlRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]?
    /// Whole-transfer limit.
    public var timeout: Duration
    public var connectTimeout: Duration
    /// HTTP Basic credentials.
    public var basicAuth: (user: String, password: String)?

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
                timeout: Duration = .seconds(15), connectTimeout: Duration = .seconds(5),
                basicAuth: (user: String, password: String)? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.basicAuth = basicAuth
    }
}

/// The answer to a ``CurlRequest``.
public struct CurlResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Seconds from start to the end of the transfer.
    public var totalTime: Double

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], totalTime: Double) {
        self.status = status
        self.headers = headers
        self.body = body
        self.totalTime = totalTime
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.last { $0.name.caseInsensitiveCompare(name) }?.value
    }
}

extension String {
    func caseInsensitiveCompare(_ other: String) -> Bool { lowercased() == other.lowercased() }
}

/// A transfer that did not produce an HTTP response: it never reached the server, or did not finish.
public struct CurlError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made (refused, unreachable, DNS).
        case connect
        case timeout
        /// Anything else libcurl reports (garbled response, TLS, …).
        case transfer
        /// The client is shut down.
        case shutdown
    }

    public let kind: Kind
    /// libcurl's `CURLcode`.
    public let code: Int
    public let message: String

    public var description: String { "\(message) (curl \(code))" }
}
