import TiplineProviders

/// libFuzzer's bytes, read the ways the targets need them.
///
/// A webhook input is two parts: its first line is the query string (without `?`) and the rest is the body, so one
/// input drives a GET's parameters (Vonage), a `?token=` check, and a POST body alike. An input with no line break is
/// all body. Seed files in `Fuzz/Corpus/<target>/` follow the same layout (an empty first line for a plain POST).
public struct FuzzInput: Sendable {
    public let bytes: [UInt8]

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The bytes as text, invalid UTF-8 replaced by U+FFFD — what a provider's decoded form or an SMS body can carry.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The query string (the first line) and the body (the rest).
    public var queryAndBody: (query: String, body: [UInt8]) {
        guard let newline = bytes.firstIndex(of: 0x0A) else { return ("", bytes) }
        return (String(decoding: bytes[..<newline], as: UTF8.self), Array(bytes[(newline + 1)...]))
    }

    /// The webhook a provider would send to `path`: the query from the first line, the body from the rest.
    public func webhook(method: String = "POST", path: String, contentType: String?, headers: [(name: String, value: String)] = [],
                        source: String? = "203.0.113.10") -> WebhookRequest {
        let (query, body) = queryAndBody
        var all = headers
        if let contentType { all.append((name: "Content-Type", value: contentType)) }
        return WebhookRequest(method: method, pathAndQuery: query.isEmpty ? path : path + "?" + query, headers: all,
                              body: method == "GET" ? [] : body, sourceAddress: source)
    }
}
