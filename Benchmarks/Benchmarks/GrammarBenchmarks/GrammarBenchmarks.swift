import Benchmark
import Foundation
import TiplineCore

/// Parsing the grammar corpus: every case of `Tests/TiplineCoreTests/Cases/*.jsonl`, once per iteration.
let benchmarks: @Sendable () -> Void = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let areas = try! ReferenceData.areas(csv: String(contentsOf: root.appendingPathComponent("config/areas.csv"), encoding: .utf8))
    let places = try! ReferenceData.places(csv: String(contentsOf: root.appendingPathComponent("config/places.csv"), encoding: .utf8))
    let parser = ReportParser(gazetteer: Gazetteer(areas: areas, places: places), timeZone: TimeZone(identifier: "Asia/Ho_Chi_Minh")!)
    let cases = root.appendingPathComponent("Tests/TiplineCoreTests/Cases")
    var texts: [String] = []
    for file in (try? FileManager.default.contentsOfDirectory(at: cases, includingPropertiesForKeys: nil)) ?? [] where file.pathExtension == "jsonl" {
        for line in (try! String(contentsOf: file, encoding: .utf8)).split(separator: "\n") {
            if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let text = object["text"] as? String {
                texts.append(text)
            }
        }
    }
    let received = Date(timeIntervalSince1970: 1_795_831_200)

    Benchmark("Parse the grammar corpus", configuration: .init(metrics: [.wallClock, .throughput, .mallocCountTotal], maxDuration: .seconds(5))) { benchmark in
        for _ in benchmark.scaledIterations {
            for text in texts {
                blackHole(parser.parse(text, receivedAt: received))
            }
        }
    }

    Benchmark("Fold a message", configuration: .init(metrics: [.wallClock, .throughput], maxDuration: .seconds(2))) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(TextFolding.fold("TRE Giàng Thị Mai 13 tuổi nữ, xã Lũng Cú, đi Trung Quốc hôm qua"))
        }
    }
}
