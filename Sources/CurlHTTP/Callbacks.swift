import Foundation
import CCurl

// libcurl's C callbacks. They live here, outside any main.swift or actor-isolated code, as plain C function pointers;
// `userdata` is the unretained ``Transfer`` the curl thread owns while the transfer runs.

let curlBodyCallback: tipline_curl_data_callback = { data, size, count, userdata in
    let length = size * count
    guard let data, let userdata else { return length }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    transfer.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
    return length
}

let curlHeaderCallback: tipline_curl_data_callback = { data, size, count, userdata in
    let length = size * count
    guard let data, let userdata else { return length }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    // By bytes: Foundation's trimming per header line was a twentieth of a send's time.
    let line = UnsafeRawBufferPointer(start: data, count: length)
    if line.starts(with: "HTTP/".utf8) {
        transfer.headers.removeAll() // a new response (after a 100 Continue or a redirect)
    } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
        func trimmed(_ part: Slice<UnsafeRawBufferPointer>) -> String {
            let blank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }
            guard let first = part.firstIndex(where: { !blank($0) }), let last = part.lastIndex(where: { !blank($0) }) else { return "" }
            return String(decoding: part[first...last], as: UTF8.self)
        }
        transfer.headers.append((trimmed(line[..<colon]), trimmed(line[(colon + 1)...])))
    }
    return length
}
