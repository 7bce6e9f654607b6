// swift-tools-version:6.1
// Benchmarks for tipline, kept in their own package so the main build and CI do not compile the benchmark harness.
// Run: cd Benchmarks && swift package benchmark
import Foundation
import PackageDescription

/// The main package is a path dependency; its identity is the name of the folder the repository is checked out in.
let tipline = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "tipline-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "GrammarBenchmarks",
            dependencies: [
                .product(name: "TiplineCore", package: tipline),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/GrammarBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "IntakeBenchmarks",
            dependencies: [
                .product(name: "TiplineServer", package: tipline),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/IntakeBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
