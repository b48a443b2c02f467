// swift-tools-version:6.0
import Foundation
import PackageDescription

// A plain build (and any package that depends on these library products) compiles for the baseline of the
// target architecture: SwiftPM refuses `unsafeFlags` in dependencies, and baseline code runs on every x86-64.
// HARMONY_NATIVE=1 (set by Samples/test.sh, demo.sh and `install.sh --native`) asks for code tuned to the build
// host's vector unit when it has AVX2 and FMA (Haswell or newer), like `-march=native` builds of scientific
// software: fits are about 1.8x faster with 8-wide SIMD and fused multiply-adds, but such binaries stop with an
// illegal instruction on older CPUs, so they are for this machine only.
let nativeBuild: Bool = {
    #if arch(x86_64) && os(Linux)
    guard ProcessInfo.processInfo.environment["HARMONY_NATIVE"] == "1",
          let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    let set = Set(flags.split(separator: " "))
    return ["avx2", "fma", "bmi2", "f16c", "movbe"].allSatisfy { set.contains(Substring($0)) }
    #else
    return false
    #endif
}()
// HARMONY_FMA selects fused multiply-adds in the kernels (Sources/HarmonyCore/Matrix/MultiplyAdd.swift); without the
// instruction a fused multiply-add is a libm call per lane, so a portable build multiplies and adds instead.
let numericSettings: [SwiftSetting] = nativeBuild ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("HARMONY_FMA")] : []

// The distributed fit (`mpirun -np P harmony-mpi fit ...`) needs Open MPI's headers and library, so it exists only
// when HARMONY_MPI=1 is set for the build: `HARMONY_MPI=1 swift build -c release --product harmony-mpi`. Then the
// `harmony` target also compiles its MPI command (flag HARMONY_MPI) and links HarmonyMPI; `harmony-mpi` is the
// same executable under another name, which runs the distributed `fit`. The default build needs no MPI.
let withMPI = ProcessInfo.processInfo.environment["HARMONY_MPI"] == "1"

// Layers (see README.md): HarmonySystem (system calls that retry EINTR and keep errno) and HarmonyProtocol (pure
// wire codec, and the project's little-endian byte reader and writer) depend on nothing of ours; HarmonyCore (pure
// numerics and file formats) reads and writes model files with that codec; HarmonyClient (over the protocol
// only), HarmonyServer and HarmonyPlot (figures through cairo) build on them; the executables are thin. HarmonyC
// exports HarmonyCore through the C interface declared by
// CHarmony's header (for the Python package harmony_swift).
let package = Package(
    name: "Harmony",
    products: [
        .executable(name: "harmony", targets: ["harmony"]),
        .executable(name: "harmonyd", targets: ["harmonyd"]),
        .library(name: "HarmonyCore", targets: ["HarmonyCore"]),
        .library(name: "HarmonyProtocol", targets: ["HarmonyProtocol"]),
        // The C interface (Sources/CHarmony/include/harmony.h) as a shared library for the Python package.
        .library(name: "HarmonyC", type: .dynamic, targets: ["HarmonyC"]),
    ] + (withMPI ? [.executable(name: "harmony-mpi", targets: ["harmony"])] : []),
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
        .systemLibrary(name: "CIsal", path: "Sources/CIsal", pkgConfig: "libisal",
                       providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5",
                       providers: [.apt(["libhdf5-dev"])]),
        .target(name: "HarmonySystem"),
        .target(name: "HarmonyCore", dependencies: ["HarmonyProtocol", "HarmonySystem", "COpenBLAS", "CZlib", "CIsal",
                                                    "CHDF5"],
                swiftSettings: numericSettings),
        .target(name: "HarmonyProtocol"),
        .target(name: "HarmonyPlot", dependencies: ["HarmonyCore", "CCairo"]),
        .target(name: "CHarmony"),
        .target(name: "HarmonyC", dependencies: ["CHarmony", "HarmonyCore"]),
        .target(name: "HarmonyClient", dependencies: ["HarmonyProtocol", "HarmonySystem"]),
        .target(name: "HarmonyServer", dependencies: ["HarmonyCore", "HarmonyProtocol", "HarmonySystem", "CLibUV"],
                exclude: ["README.md"]),
        // harmonyd --self-bench and the simulated reference the server tests use; not part of the server library.
        .target(name: "HarmonyBenchmark", dependencies: ["HarmonyServer", "HarmonyClient", "HarmonyCore", "HarmonyProtocol",
                                                        "HarmonySystem"]),
        .executableTarget(name: "harmony", dependencies: [
            "HarmonyCore", "HarmonyClient", "HarmonyProtocol", "HarmonyPlot", "HarmonySystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ] + (withMPI ? ["HarmonyMPI"] : []), swiftSettings: withMPI ? [.define("HARMONY_MPI")] : []),
        .executableTarget(name: "harmonyd", dependencies: [
            "HarmonyServer", "HarmonyBenchmark", "HarmonySystem",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
    ] + (withMPI ? [
        .systemLibrary(name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
                       providers: [.apt(["libopenmpi-dev"])]),
        // The communicator of the distributed fit over MPI (MPI_COMM_WORLD) and its covariate message.
        .target(name: "HarmonyMPI", dependencies: ["HarmonyCore", "CMPI"]),
    ] : []) + [
        // What several test targets share: the shared-data locator, Pearson's r, the built binaries' location.
        .target(name: "HarmonyTestSupport", path: "Tests/HarmonyTestSupport"),
        .testTarget(name: "HarmonyCoreTests", dependencies: ["HarmonyCore", "HarmonyTestSupport"]),
        .testTarget(name: "HarmonyProtocolTests", dependencies: ["HarmonyProtocol"]),
        .testTarget(name: "HarmonyServerTests", dependencies: ["HarmonyServer", "HarmonyClient", "HarmonyBenchmark",
                                                               "HarmonyCore", "HarmonyProtocol", "HarmonySystem",
                                                               "HarmonyTestSupport"]),
        .testTarget(name: "HarmonyPlotTests", dependencies: ["HarmonyPlot", "CCairo"]),
        .testTarget(name: "HarmonyCLITests", dependencies: ["HarmonyCore", "HarmonyClient", "HarmonyTestSupport"]),
    ],
    // Every target builds in the Swift 6 language mode: complete concurrency checking.
    swiftLanguageModes: [.v6]
)
