import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A loopback port bound but never listening, for as long as this lives: a connection to it is refused, and no other
/// test's server can take it meanwhile (as it could a port found free and released).
final class RefusingPort: Sendable {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        guard let port = TestPorts.bind(descriptor, port: 0) else { close(descriptor); throw POSIXError(.EADDRINUSE) }
        self.descriptor = descriptor
        self.port = port
    }

    deinit { close(descriptor) }
}

enum TestPorts {
    private static let handedOut = Mutex<Set<Int>>([])

    /// A free loopback port for a server (a child process, a PostgreSQL cluster) about to bind it itself. Chosen below
    /// the kernel's ephemeral range, so that no `bind(0)` of another test and no outgoing connection takes it between
    /// this answer and that bind; never the same port twice in one run. Not for a port that must stay closed
    /// (`RefusingPort` holds one).
    static func unused() throws -> Int {
        let low = ephemeralLow()
        // A kernel whose ephemeral range starts low leaves no room below it: any free port then, as the kernel gives.
        guard low > 21_000 else {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
            defer { close(descriptor) }
            guard let port = bind(descriptor, port: 0) else { throw POSIXError(.EADDRINUSE) }
            return port
        }
        let range = 20_000..<low
        for _ in 0..<1_000 {
            let candidate = Int.random(in: range)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
            defer { close(descriptor) }
            if bind(descriptor, port: candidate) != nil { return candidate }
        }
        throw POSIXError(.EADDRINUSE)
    }

    /// Binds `descriptor` to 127.0.0.1:`port` (0: the kernel's choice); the port bound, or nil.
    static func bind(_ descriptor: Int32, port: Int) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemBind(descriptor, $0, length) }
        }
        guard bound == 0 else { return nil }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// The low end of the kernel's ephemeral port range (32768 when it cannot be read).
    private static func ephemeralLow() -> Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        return text.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } ?? 32_768
    }
}

/// The C library's bind(2), which `TestPorts.bind` shadows.
private func systemBind(_ descriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.bind(descriptor, address, length)
    #else
    Darwin.bind(descriptor, address, length)
    #endif
}
