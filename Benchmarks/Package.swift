// swift-tools-version:6.1
// Benchmarks for tipline, kept in their own package so the main build and CI do not compile the benchmark harness.
// Run: cd Benchmarks && swift package benchmark
import PackageDescription

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
                .product(name: "TiplineCore", package: "main"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/GrammarBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
