// swift-tools-version:6.0
import PackageDescription

// Layers (see README.md): HarmonyCore (pure numerics and file formats) and HarmonyProtocol (pure wire
// codec) depend on nothing of ours; HarmonyClient and HarmonyServer build on them; the executables are thin.
let package = Package(
    name: "Harmony",
    products: [
        .executable(name: "harmony", targets: ["harmony"]),
        .executable(name: "harmonyd", targets: ["harmonyd"]),
        .library(name: "HarmonyCore", targets: ["HarmonyCore"]),
        .library(name: "HarmonyProtocol", targets: ["HarmonyProtocol"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLibUV", path: "Sources/CLibUV", pkgConfig: "libuv",
                       providers: [.apt(["libuv1-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .target(name: "HarmonyCore", dependencies: ["COpenBLAS", "CZlib"]),
        .target(name: "HarmonyProtocol"),
        .target(name: "HarmonyClient", dependencies: ["HarmonyProtocol", "HarmonyCore"]),
        .target(name: "HarmonyServer", dependencies: ["HarmonyCore", "HarmonyProtocol", "CLibUV"]),
        .executableTarget(name: "harmony", dependencies: [
            "HarmonyCore", "HarmonyClient",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "harmonyd", dependencies: [
            "HarmonyServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "HarmonyCoreTests", dependencies: ["HarmonyCore"]),
        .testTarget(name: "HarmonyProtocolTests", dependencies: ["HarmonyProtocol"]),
        .testTarget(name: "HarmonyServerTests", dependencies: ["HarmonyServer", "HarmonyClient"]),
        .testTarget(name: "HarmonyCLITests", dependencies: ["HarmonyCore", "HarmonyClient"]),
    ],
    swiftLanguageModes: [.v5]
)
