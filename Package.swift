// swift-tools-version: 6.0
import Foundation
import PackageDescription

// NOTE: Targets use the Swift 5 language mode: FFTW plans and BLAS handles are non-Sendable
// C resources, and the kernels share buffers across threads by design.
let v5: [SwiftSetting] = [.swiftLanguageMode(.v5)]

// SwiftPM refuses unsafe flags in a package that is checked out as a versioned dependency
// (into a folder named `checkouts`), so there the kernels build with the package's own
// optimisation level and the `#pragma clang fp contract(fast)` in Kernels.c; as the root
// package (or a local path dependency) they keep -O3 even in debug builds, so the test suite
// runs fast. WAVEKIT_KERNEL_FLAGS=0|1 (or false|true, no|yes) overrides the guess.
let kernelFlagsOverride: Bool? = switch Context.environment["WAVEKIT_KERNEL_FLAGS"]?.lowercased() {
    case "1", "true", "yes": true
    case "0", "false", "no": false
    default: nil
}
let checkedOutAsDependency = kernelFlagsOverride.map { !$0 }
    ?? (URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent == "checkouts")
let kernelFlags: [CSetting] = checkedOutAsDependency ? [] : [.unsafeFlags(["-O3", "-ffp-contract=fast", "-fno-math-errno"])]

let package = Package(
    name: "WaveKit",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "wavekit", targets: ["wavekit"]),
        .library(name: "TensorCore", targets: ["TensorCore"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "AudioIO", targets: ["AudioIO"]),
        .library(name: "DSP", targets: ["DSP"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Training", targets: ["Training"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // System libraries: one target per C library, never two headers in one module map.
        .systemLibrary(name: "CSndfile", pkgConfig: "sndfile",
                       providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f",
                       providers: [.apt(["libfftw3-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr",
                       providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        // Hot loops in C: compiled at -O3 even in debug builds (so the test suite runs fast)
        // and cloned for AVX-512 / AVX2 / baseline with runtime dispatch (Swift and C default to SSE2 on x86-64).
        .target(name: "CKernels", cSettings: kernelFlags),

        .target(name: "TensorCore", dependencies: ["CKernels", "COpenBLAS"], swiftSettings: v5),
        .target(name: "NN", dependencies: ["TensorCore"], swiftSettings: v5),
        .target(name: "AudioIO", dependencies: ["TensorCore", "CSndfile", "CSoxr", "CPNG"], swiftSettings: v5),
        .target(name: "DSP", dependencies: ["TensorCore", "CFFTW", "CKernels"], swiftSettings: v5),
        .target(name: "Models", dependencies: ["NN", "DSP", "TensorCore", "CKernels"], swiftSettings: v5),
        .target(name: "Training", dependencies: ["Models", "AudioIO", "NN", "DSP", .product(name: "Yams", package: "Yams")],
                swiftSettings: v5),
        .executableTarget(
            name: "wavekit",
            dependencies: [
                "CKernels", "TensorCore", "NN", "AudioIO", "DSP", "Models", "Training",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: v5),

        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Tests/TestSupport",
                swiftSettings: v5),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "NNTests", dependencies: ["NN", "TestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "AudioIO", "TestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "TestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "AudioIOTests", dependencies: ["AudioIO", "TestSupport"], swiftSettings: v5),
        .testTarget(name: "DSPTests", dependencies: ["DSP", "AudioIO", "TestSupport"],
                    resources: [.copy("Golden")], swiftSettings: v5),
        .testTarget(name: "WaveKitCLITests", dependencies: ["wavekit"], swiftSettings: v5),
    ]
)
