import Benchmark
import Foundation
import Logging
import Synchronization
import TiplineServer

/// The intake path without HTTP: `Intake.receive` on a real SQLite file (WAL, synchronous=FULL), parse included —
/// sequential (one message per transaction) and 32 at a time (group commit).
let benchmarks: @Sendable () -> Void = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tipline-bench-\(UUID().uuidString)")
    let deployment = try! Deployment.load(configPath: root.appendingPathComponent("config/tipline.yaml").path,
                                          environment: ["TIPLINE_DATABASE_PATH": folder.appendingPathComponent("bench.sqlite").path])
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let runtime = try! TiplineRuntime.make(deployment: deployment, logger: logger)
    let texts = ["TRE Lan 14t nu xa Lung Cu di HCM", "KHAN be gai 12t xa Meo Vac dang bi dua sang TQ", "HD",
                 "TRE Hoa 16t nu phuong Thuan An di Ha Noi lam may", "alo alo", "REPORT Lan 14 girl Lung Cu to HCM"]
    let counter = Counter()

    Benchmark("Intake one message at a time", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))) { benchmark in
        for _ in benchmark.scaledIterations {
            let n = counter.next()
            _ = try await runtime.intake.receive(.init(providerMessageID: "B\(n)", from: "+849\(10_000_000 + n % 9_000_000)", to: nil,
                                                       text: texts[n % texts.count]), channel: "simulator")
        }
    }

    Benchmark("Intake 32 at once (group commit)", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(5))) { benchmark in
        for _ in benchmark.scaledIterations {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<32 {
                    let n = counter.next()
                    group.addTask {
                        _ = try await runtime.intake.receive(.init(providerMessageID: "G\(n)", from: "+849\(10_000_000 + n % 9_000_000)", to: nil,
                                                                   text: texts[n % texts.count]), channel: "simulator")
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
