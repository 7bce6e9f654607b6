import Foundation
import Glibc

/// A program run to its end without holding one of Swift's cooperative threads while it runs.
///
/// The cooperative pool has as many threads as the machine has cores — two here. A test that waits for a child
/// process on it (`waitUntilExit`, `waitpid`, reading a pipe to its end) takes one of them for as long as the child
/// runs; two such tests at once (a headless browser and a CLI run) stop every other test in the process, whose
/// webhooks then time out for no fault of their own. So the wait happens on a thread of its own.
enum Subprocess {
    struct Finished: Sendable {
        var status: Int32
        var output: String
    }

    /// Runs `executable` with `arguments` (and `environment`, else this process's), its output and errors to one
    /// temporary file (not a pipe: a server the program starts may keep a pipe open after the program ends, and a
    /// full pipe would block it). Its exit status (-1 when killed by a signal) and output.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) async throws -> Finished {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-subprocess-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let pid = process.processIdentifier
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            let thread = Thread {
                // Reaped here: Foundation's own wait never returned once a script had started a server (seen hanging).
                var status: Int32 = 0
                var result: pid_t
                repeat { result = waitpid(pid, &status, 0) } while result == -1 && errno == EINTR
                if result == pid {
                    continuation.resume(returning: (status & 0x7F) == 0 ? (status >> 8) & 0xFF : -1)
                } else {
                    process.waitUntilExit()
                    continuation.resume(returning: process.terminationReason == .exit ? process.terminationStatus : -1)
                }
            }
            thread.start()
        }
        return Finished(status: status, output: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    /// Waits for a process already started (a `tipline serve` the test killed or stopped) off the cooperative pool.
    static func waitForExit(_ process: Process) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread {
                process.waitUntilExit()
                continuation.resume()
            }.start()
        }
    }
}
