// swift-tools-version:6.1
// libFuzzer targets for what reaches tipline from outside — SMS text, providers' webhooks, USSD callbacks, the
// settings file — kept in their own package so the main build and CI's `swift build` never compile them.
//
// Build and run: scripts/fuzz (docs/security.md, "Fuzzing and API testing"). The build alone:
//   swift build --package-path Fuzz --scratch-path .build-fuzz -c release --sanitize=fuzzer --sanitize=address
// SwiftPM's own --sanitize=fuzzer (not -Xswiftc -sanitize=fuzzer) is what turns off its renaming of executables'
// `main`, which would otherwise leave libFuzzer's `main` unused; the C code (libyaml, BoringSSL) is instrumented too.
import Foundation
import PackageDescription

/// The main package is a path dependency; its identity is the name of the folder the repository is checked out in.
let tipline = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

/// Each target is one file defining `LLVMFuzzerTestOneInput`: libFuzzer brings `main`, so the file must not emit one.
let fuzzTargetSettings: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

func fuzzTarget(_ name: String, _ dependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(name: name, dependencies: ["FuzzSupport"] + dependencies, swiftSettings: fuzzTargetSettings)
}

let package = Package(
    name: "tipline-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // What the targets share: the sample deployment, loaded once, and the checks every input must pass.
        // TiplineProviders and CurlHTTP are not products of the main package; they are imported through TiplineServer's
        // product, which SwiftPM's native build system allows (they are built as its dependencies).
        .target(
            name: "FuzzSupport",
            dependencies: [
                .product(name: "TiplineCore", package: tipline),
                .product(name: "TiplineServer", package: tipline),
            ]
        ),
        fuzzTarget("FuzzGrammar"),
        fuzzTarget("FuzzTwilio"),
        fuzzTarget("FuzzAfricasTalking"),
        fuzzTarget("FuzzVonage"),
        fuzzTarget("FuzzGeneric"),
        fuzzTarget("FuzzUssdCallback"),
        fuzzTarget("FuzzUssdMenu"),
        fuzzTarget("FuzzSettings"),
        fuzzTarget("FuzzYAML", [.product(name: "Yams", package: "Yams")]),
    ]
)
