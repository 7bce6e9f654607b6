// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "tipline",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tipline", targets: ["tipline"]),
        .executable(name: "tipline-fake-provider", targets: ["tipline-fake-provider"]),
        .library(name: "TiplineCore", targets: ["TiplineCore"]),
        .library(name: "TiplineServer", targets: ["TiplineServer"]),
        .library(name: "TiplineProviders", targets: ["TiplineProviders"]),
        .library(name: "CurlHTTP", targets: ["CurlHTTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "4.0.0"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: - Domain (pure, no I/O)
        .target(
            name: "TiplineCore",
            dependencies: [.product(name: "SwiftCSV", package: "SwiftCSV")],
            swiftSettings: swiftSettings
        ),

        // MARK: - Storage
        .target(
            name: "TiplineStore",
            dependencies: [
                "TiplineCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - libcurl
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "CurlHTTP",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - SMS providers
        .target(
            name: "TiplineProviders",
            dependencies: [
                "TiplineCore",
                "CurlHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Server
        .target(
            name: "TiplineServer",
            dependencies: [
                "TiplineCore",
                "TiplineStore",
                "CurlHTTP",
                "TiplineProviders",
                // No GRDB: the store owns every SQL statement (TiplineStore's CaseStore and AppDatabase).
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Resources")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "tipline",
            dependencies: [
                "TiplineServer",
                "TiplineStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // A fake Twilio Messages API in its own process, for scripts/load-test.
        .executableTarget(
            name: "tipline-fake-provider",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .testTarget(name: "TiplineCoreTests", dependencies: ["TiplineCore"], exclude: ["Cases"], swiftSettings: swiftSettings),
        .testTarget(name: "TiplineStoreTests", dependencies: ["TiplineStore"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CurlHTTPTests",
            dependencies: [
                "CurlHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "TiplineProvidersTests", dependencies: ["TiplineProviders"], swiftSettings: swiftSettings),
        .testTarget(
            name: "TiplineServerTests",
            dependencies: [
                "TiplineServer",
                "TiplineProviders",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "TiplineServer",
                "TiplineCore",
                "TiplineStore",
                "TiplineProviders",
                "CurlHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            exclude: ["Browser"],
            swiftSettings: swiftSettings
        ),
    ]
)
